set terminal pngcairo size 1100,480 font "sans,10"
set output "/work/main/bench/results/2026-12-03-1913-rps-pinned.png"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set key top right
set xtics norotate
set offsets 0, 0, graph 0.12, 0
set ylabel "requests/s (median)"
set format y "%.0s%c"
set multiplot layout 1,2 title "throughput, pinned placement (2026-12-03-1913)"
set title "pipeline 1"
plot '/work/main/bench/results/raw/2026-12-03-1913/chart-rps-pinned-P1.dat' using 2:xtic(1) title 'strata' lc rgb '#d9534f', '' using 3 title 'redis' lc rgb '#4a7bd0'
set title "pipeline 16"
plot '/work/main/bench/results/raw/2026-12-03-1913/chart-rps-pinned-P16.dat' using 2:xtic(1) title 'strata' lc rgb '#d9534f', '' using 3 title 'redis' lc rgb '#4a7bd0'
unset multiplot
