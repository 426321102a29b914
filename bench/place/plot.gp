# Plots of bench-place results: gnuplot -e "out='DIR'" plot.gp  (DIR holds results.csv)
set datafile separator ','
set terminal pngcairo size 900,560 noenhanced
set key top left
set grid
r = out.'/results.csv'
# The rows of one series, in host-size order, so that lines join (awk keeps gnuplot simple).
sel(algo, stream, dist, sizes) = sprintf("< awk -F, '$5==\"%s\" && $4==\"%s\" && $2==\"%s\" && $3==\"%s\" && $8>0' %s", algo, stream, dist, sizes, r)

set output out.'/time.png'
set title 'Time per placement (equal nodes, EPYC-like distances)'
set logscale xy
set xlabel 'host nodes'
set ylabel 'µs per placement'
set xtics (2,4,8,16,32,64,128,256)
set yrange [0.1:3000]
plot for [s in 'small mixed large'] sel('vnuma', s, 'epyc', 'equal') using 1:6 \
        with linespoints title 'vnuma '.s, \
     for [s in 'small mixed large'] sel('xen', s, 'epyc', 'equal') using 1:6 \
        with linespoints dashtype 2 title 'xen '.s, \
     1000 with lines lc rgb 'red' title '1 ms target'

set output out.'/distance.png'
set title 'Mean memory-weighted vCPU-to-memory distance, large VMs'
unset logscale y
set autoscale y
set ylabel 'distance (10 = local)'
plot for [d in 'epyc sym'] sel('vnuma', 'large', d, 'equal') using 1:10 \
        with linespoints title 'vnuma '.d, \
     for [d in 'epyc sym'] sel('xen', 'large', d, 'equal') using 1:10 \
        with linespoints dashtype 2 title 'xen '.d

set output out.'/one-node.png'
set title 'Share of VMs on one node, mixed stream'
set ylabel 'share'
plot for [d in 'epyc sym'] sel('vnuma', 'mixed', d, 'equal') using 1:9 \
        with linespoints title 'vnuma '.d, \
     for [d in 'epyc sym'] sel('xen', 'mixed', d, 'equal') using 1:9 \
        with linespoints dashtype 2 title 'xen '.d

set output out.'/imbalance.png'
set title 'Node vCPU-pressure imbalance (CV), mixed stream'
set ylabel 'coefficient of variation'
plot for [d in 'epyc sym'] sel('vnuma', 'mixed', d, 'equal') using 1:11 \
        with linespoints title 'vnuma '.d, \
     for [d in 'epyc sym'] sel('xen', 'mixed', d, 'equal') using 1:11 \
        with linespoints dashtype 2 title 'xen '.d
