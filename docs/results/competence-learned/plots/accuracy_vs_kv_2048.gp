set terminal pngcairo size 960,640 noenhanced font ",10"
set output 'accuracy_vs_kv_2048.png'
set title "accuracy vs KV cache size, length 2048"
set xlabel 'KV bytes per prompt token'
set ylabel 'average score'
set grid
set key below
set yrange [0:100]
set xrange [0:*]
set arrow from 4096.000, graph 0 to 4096.000, graph 1 nohead dt 2 lc rgb '#999999'
set label "full" at 4096.000,26.708 offset 0.6,0.3 font ",7" tc rgb "#555555"
plot 'accuracy_vs_kv_2048.dat' index 0 using 1:2 with linespoints pt 7 title "full"
