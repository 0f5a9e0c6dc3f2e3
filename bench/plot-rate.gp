# Handshake rate (left axis) and p50/p99 latency (right axis) against concurrency.
# gnuplot -e "dat='build/bench/sweep-memif.dat'; out='x.png'; title='...'" bench/plot-rate.gp
set terminal pngcairo size 900,540 noenhanced
set output out
set title title." : handshakes/s and latency against concurrency"
set logscale x 2
set xlabel "concurrent handshakes (closed loop)"
set ylabel "handshakes/s"
set y2label "latency (us)"
set logscale y2
set ytics nomirror
set y2tics
set yrange [0:*]
set key below horizontal
set grid
plot dat using 1:2 with linespoints lw 2 pt 7 title "handshakes/s", \
     dat using 1:3 axes x1y2 with linespoints dt 2 pt 6 title "p50 latency", \
     dat using 1:5 axes x1y2 with linespoints dt 3 pt 4 title "p99 latency"
