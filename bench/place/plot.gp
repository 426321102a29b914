# Plots of bench-place results: gnuplot -e "out='DIR'" plot.gp  (DIR holds results.csv)
set datafile separator ','
set terminal pngcairo size 900,560 noenhanced
set key top left
set grid
r = out.'/results.csv'
sel(algo, stream, dist, sizes, col) = (strcol(5) eq algo && strcol(4) eq stream && \
    strcol(2) eq dist && strcol(3) eq sizes && strcol(col) ne '') ? column(col) : 1/0

set output out.'/time.png'
set title 'Time per placement (equal nodes, EPYC-like distances)'
set logscale xy
set xlabel 'host nodes'
set ylabel 'µs per placement'
set xtics (2,4,8,16,32,64,128,256)
set yrange [0.1:3000]
plot for [s in 'small mixed large'] r using 1:(sel('vnuma', s, 'epyc', 'equal', 6)) \
        smooth unique with linespoints title 'vnuma '.s, \
     for [s in 'small mixed large'] r using 1:(sel('xen', s, 'epyc', 'equal', 6)) \
        smooth unique with linespoints dashtype 2 title 'xen '.s, \
     1000 with lines lc rgb 'red' title '1 ms target'

set output out.'/distance.png'
set title 'Mean memory-weighted vCPU-to-memory distance, large VMs'
unset logscale y
set autoscale y
set ylabel 'distance (10 = local)'
plot for [d in 'epyc sym'] r using 1:(sel('vnuma', 'large', d, 'equal', 10)) \
        smooth unique with linespoints title 'vnuma '.d, \
     for [d in 'epyc sym'] r using 1:(sel('xen', 'large', d, 'equal', 10)) \
        smooth unique with linespoints dashtype 2 title 'xen '.d

set output out.'/one-node.png'
set title 'Share of VMs on one node, mixed stream'
set ylabel 'share'
plot for [d in 'epyc sym'] r using 1:(sel('vnuma', 'mixed', d, 'equal', 9)) \
        smooth unique with linespoints title 'vnuma '.d, \
     for [d in 'epyc sym'] r using 1:(sel('xen', 'mixed', d, 'equal', 9)) \
        smooth unique with linespoints dashtype 2 title 'xen '.d

set output out.'/imbalance.png'
set title 'Node vCPU-pressure imbalance (CV), mixed stream'
set ylabel 'coefficient of variation'
plot for [d in 'epyc sym'] r using 1:(sel('vnuma', 'mixed', d, 'equal', 11)) \
        smooth unique with linespoints title 'vnuma '.d, \
     for [d in 'epyc sym'] r using 1:(sel('xen', 'mixed', d, 'equal', 11)) \
        smooth unique with linespoints dashtype 2 title 'xen '.d
