set terminal pngcairo size 800,480 font "sans,10"
set output "/work/main/bench/results/2026-12-03-1913-scaling-clients-p99.png"
set datafile missing "?"
set title "GET -P 1: p99 vs clients (2026-12-03-1913)"
set xlabel "clients (log scale)"
set ylabel "p99 latency, ms (log scale)"
set grid
set key outside right
set logscale x
set logscale y
set format y "%g"
set xtics ("1" 1, "10" 10, "50" 50, "200" 200, "1000" 1000)
plot '/work/main/bench/results/raw/2026-12-03-1913/2026-12-03-1913-scaling-clients-p99-0.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '#d9534f' title 'strata pinned', '/work/main/bench/results/raw/2026-12-03-1913/2026-12-03-1913-scaling-clients-p99-1.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '#4a7bd0' title 'redis pinned'
