set terminal pngcairo size 1100,480 font "sans,10"
set output "/work/main/bench/results/2026-12-03-1913-lat-unpinned.png"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set logscale y
set key top left
set xtics norotate
set offsets 0, 0, graph 0.12, 0
set ylabel "latency, ms (median over rounds, log scale)"
set format y "%g"
set multiplot layout 1,2 title "latency p50 / p99 / p99.9, unpinned placement (2026-12-03-1913)"
set title "pipeline 1"
plot '/work/main/bench/results/raw/2026-12-03-1913/chart-lat-unpinned-P1.dat' using 2:xtic(1) title 'strata p50' lc rgb '#f2b8b6', '' using 3 title 'strata p99' lc rgb '#d9534f', '' using 4 title 'strata p99.9' lc rgb '#8b1e1b', '' using 5 title 'redis p50' lc rgb '#b5c9ee', '' using 6 title 'redis p99' lc rgb '#4a7bd0', '' using 7 title 'redis p99.9' lc rgb '#1c3d7a'
set title "pipeline 16"
plot '/work/main/bench/results/raw/2026-12-03-1913/chart-lat-unpinned-P16.dat' using 2:xtic(1) title 'strata p50' lc rgb '#f2b8b6', '' using 3 title 'strata p99' lc rgb '#d9534f', '' using 4 title 'strata p99.9' lc rgb '#8b1e1b', '' using 5 title 'redis p50' lc rgb '#b5c9ee', '' using 6 title 'redis p99' lc rgb '#4a7bd0', '' using 7 title 'redis p99.9' lc rgb '#1c3d7a'
unset multiplot
