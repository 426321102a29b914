# gnuplot -e "outdir='DIR'" plot.gp: DIR/net.png from DIR/net.csv (bench/net/run.sh).
set datafile separator ','
set terminal pngcairo size 900,500
set key top right
set grid
set output outdir.'/net.png'
set title 'Guest TCP throughput into the guest (TCG): vnuma tap vs the same QEMU by hand'
set xlabel 'round'
set ylabel 'MiB/s'
set yrange [0:*]
set xtics 1
plot outdir.'/net.csv' using 1:(strcol(2) eq 'vnuma' ? $5 : 1/0) skip 1 with linespoints pt 7 title 'vnuma (tap fd from vnuma)', \
     '' using 1:(strcol(2) eq 'hand' ? $5 : 1/0) skip 1 with linespoints pt 5 title 'by hand (ip tuntap, ifname=)'
