# gnuplot -e "outdir='DIR'" plot.gp: DIR/migrate.png and DIR/residency.png from the CSVs.
set datafile separator ','
set terminal pngcairo size 900,500
set key top left
set grid

set output outdir.'/migrate.png'
set title 'Migration of 256 MiB, node 0 -> 3 in the TCG test host'
set xlabel 'pause budget (ms)'
set ylabel 'MiB/s'
set y2label 'ms'
set y2tics
set logscale x
plot outdir.'/migrate.csv' using 1:3 skip 1 with points pt 7 title 'move\_pages MiB/s', \
     '' using 1:4 skip 1 with points pt 5 title 'memcpy MiB/s (same run)', \
     '' using 1:6 skip 1 axes x1y2 with points pt 9 title 'longest call (ms)', \
     '' using 1:8 skip 1 axes x1y2 with points pt 11 title 'longest heartbeat gap (ms)'

set output outdir.'/residency.png'
set title 'Residency: sampling (K = 2401) vs numa\_maps scan, host process'
set xlabel 'range (MiB)'
set ylabel 'ms'
unset y2label
unset y2tics
set logscale xy
plot outdir.'/residency.csv' using 1:3 skip 1 with linespoints pt 7 title 'sampling', \
     '' using 1:4 skip 1 with linespoints pt 5 title 'numa\_maps scan'
