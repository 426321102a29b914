# Fuzz campaign: coverage and speed per target.  gnuplot -e "csv='F.csv'; png='F.png'" plot.gp
set datafile separator ','
set terminal pngcairo size 1100,800 font ',10'
set output png
set multiplot layout 2,1
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30 noenhanced
set key top left
set grid ytics
set title 'Coverage of the src/lib files each target reaches (llvm-cov, kept corpus replayed)'
set ylabel '%'
set yrange [0:100]
plot csv using 'lines_pct':xtic(1) title 'lines', '' using 'branches_pct' title 'branches'
set title 'Executions per second under ASan+UBSan (nice 10, 2 shared cores)'
set ylabel 'execs/s (log)'
set logscale y
set yrange [10:*]
plot csv using 'execs_per_s':xtic(1) title 'execs/s' lc rgb '#4060a0'
unset multiplot
