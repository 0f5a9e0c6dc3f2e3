# Handshake latency CDFs, one curve per concurrency, from emse-bench --cdf files.
# gnuplot -e "prefix='build/bench/sweep-memif-c'; concs='1 4 16'; out='x.png'; title='...'" bench/plot-cdf.gp
set terminal pngcairo size 900,540 noenhanced
set output out
set title title." : handshake latency CDF"
set logscale x 10
set xlabel "handshake latency (us, first ClientHello to Finished)"
set ylabel "fraction of handshakes"
set yrange [0:1]
set key bottom right
set grid
plot for [c in concs] prefix.c.'.cdf' using 1:2 with lines lw 2 title 'C='.c
