set terminal pngcairo size 800,480 font "sans,10"
set output "/work/main/bench/results/2026-12-03-1913-scaling-iothreads.png"
set datafile missing "?"
set title "GET requests/s vs io-threads (2026-12-03-1913)"
set xlabel "io-threads"
set ylabel "requests/s (median)"
set grid
set key outside right
set autoscale x
set yrange [0:*]
set format y "%.0s%c"
set xtics ("1" 1, "2" 2)
plot '/work/main/bench/results/raw/2026-12-03-1913/2026-12-03-1913-scaling-iothreads-0.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '#d9534f' title 'strata -P 16', '/work/main/bench/results/raw/2026-12-03-1913/2026-12-03-1913-scaling-iothreads-1.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '#4a7bd0' title 'redis -P 16'
