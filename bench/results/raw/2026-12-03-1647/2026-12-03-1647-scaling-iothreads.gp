set terminal pngcairo size 800,480 font "sans,10"
set output "/work/wt-bench/bench/results/2026-12-03-1647-scaling-iothreads.png"
set datafile missing "?"
set title "GET requests/s vs io-threads (2026-12-03-1647)"
set xlabel "io-threads"
set ylabel "requests/s (median)"
set grid
set key outside right
set autoscale x
set yrange [0:*]
set format y "%.0s%c"
set xtics ("1" 1, "2" 2, "3" 3, "4" 4)
plot '/work/wt-bench/bench/results/raw/2026-12-03-1647/2026-12-03-1647-scaling-iothreads-0.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '#d9534f' title 'strata -P 1', '/work/wt-bench/bench/results/raw/2026-12-03-1647/2026-12-03-1647-scaling-iothreads-1.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '#4a7bd0' title 'redis -P 1', '/work/wt-bench/bench/results/raw/2026-12-03-1647/2026-12-03-1647-scaling-iothreads-2.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '#8b1e1b' title 'strata -P 16', '/work/wt-bench/bench/results/raw/2026-12-03-1647/2026-12-03-1647-scaling-iothreads-3.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '#1c3d7a' title 'redis -P 16'
