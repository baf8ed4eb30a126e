set terminal pngcairo size 960,640 noenhanced font ",10"
set output 'accuracy_vs_kv_2048.png'
set title "accuracy vs KV cache size, length 2048"
set xlabel 'KV bytes per prompt token'
set ylabel 'average score'
set grid
set key below
set yrange [0:100]
set xrange [0:*]
set arrow from 2048.000, graph 0 to 2048.000, graph 1 nohead dt 2 lc rgb '#999999'
set label "full" at 2048.000,58.733 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=64,window=32" at 65.915,8.167 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=64,window=32+think:ratio=0.5" at 49.951,8.275 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=64,window=32+think:ratio=0.8" at 39.861,0.339 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=64,window=32+spark:ratio=0.5" at 55.165,0.708 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=64,window=32+spark:ratio=0.8" at 45.381,0.283 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=128,window=32" at 131.829,12.106 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=128,window=32+think:ratio=0.5" at 99.387,12.028 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=128,window=32+think:ratio=0.8" at 79.513,0.122 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=128,window=32+spark:ratio=0.5" at 109.235,1.061 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=128,window=32+spark:ratio=0.8" at 89.667,0.250 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32" at 263.658,14.050 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32+think:ratio=0.5" at 198.259,14.036 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32+think:ratio=0.8" at 158.816,0.144 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32+spark:ratio=0.5" at 217.377,0.581 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32+spark:ratio=0.8" at 178.240,0.319 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=512,window=32" at 527.317,16.819 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=512,window=32+think:ratio=0.5" at 396.002,16.836 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=512,window=32+think:ratio=0.8" at 317.423,0.222 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=512,window=32+spark:ratio=0.5" at 433.659,0.619 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=512,window=32+spark:ratio=0.8" at 355.385,0.492 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "streamingllm:budget=128" at 131.829,5.269 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "h2o:budget=128" at 131.829,9.528 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "tova:budget=128" at 131.829,3.006 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "pyramidkv:budget=128,window=32" at 132.344,12.508 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "streamingllm:budget=512" at 527.317,18.186 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "h2o:budget=512" at 527.317,21.411 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "tova:budget=512" at 527.317,16.417 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "pyramidkv:budget=512,window=32" at 527.317,18.458 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "think:ratio=0.5" at 1536.515,57.589 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "think:ratio=0.8" at 1232.209,0.444 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5" at 1681.094,1.717 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8" at 1377.094,1.464 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,kq=q8" at 1441.094,1.903 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8,kq=q8" at 1289.094,1.597 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,kq=q4" at 1313.094,1.500 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "quant:k=q8_0,v=q8_0" at 1088.000,58.286 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "quant:k=q4_0,v=q4_0" at 576.000,16.947 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "quant:k=q8_0,v=f16" at 1568.000,58.219 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32+quant:k=q8_0,v=q8_0" at 140.069,14.033 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "full @q8_0" at 1088.000,56.188 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5 @q8_0" at 1201.094,1.896 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8 @q8_0" at 897.094,0.326 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "full @q4_0" at 576.000,10.458 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5 @q4_0" at 945.094,14.458 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8 @q4_0" at 641.094,13.507 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "think:ratio=0.5,recent=64" at 1750.737,58.489 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,recent=64" at 1692.938,5.650 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8,recent=64" at 1398.723,2.758 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,recent=64,recovery=zero" at 1692.938,48.592 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8,recent=64,recovery=zero" at 1398.723,4.500 offset 0.6,0.3 font ",7" tc rgb "#555555"
plot 'accuracy_vs_kv_2048.dat' index 0 using 1:2 with linespoints pt 7 title "full", \
     'accuracy_vs_kv_2048.dat' index 1 using 1:2 with linespoints pt 7 title "snapkv:window=32", \
     'accuracy_vs_kv_2048.dat' index 2 using 1:2 with linespoints pt 7 title "snapkv:window=32+think:ratio=0.5", \
     'accuracy_vs_kv_2048.dat' index 3 using 1:2 with linespoints pt 7 title "snapkv:window=32+think:ratio=0.8", \
     'accuracy_vs_kv_2048.dat' index 4 using 1:2 with linespoints pt 7 title "snapkv:window=32+spark:ratio=0.5", \
     'accuracy_vs_kv_2048.dat' index 5 using 1:2 with linespoints pt 7 title "snapkv:window=32+spark:ratio=0.8", \
     'accuracy_vs_kv_2048.dat' index 6 using 1:2 with linespoints pt 7 title "streamingllm", \
     'accuracy_vs_kv_2048.dat' index 7 using 1:2 with linespoints pt 7 title "h2o", \
     'accuracy_vs_kv_2048.dat' index 8 using 1:2 with linespoints pt 7 title "tova", \
     'accuracy_vs_kv_2048.dat' index 9 using 1:2 with linespoints pt 7 title "pyramidkv:window=32", \
     'accuracy_vs_kv_2048.dat' index 10 using 1:2 with linespoints pt 7 title "think", \
     'accuracy_vs_kv_2048.dat' index 11 using 1:2 with linespoints pt 7 title "spark", \
     'accuracy_vs_kv_2048.dat' index 12 using 1:2 with linespoints pt 7 title "spark:kq=q8", \
     'accuracy_vs_kv_2048.dat' index 13 using 1:2 with linespoints pt 7 title "spark:kq=q4", \
     'accuracy_vs_kv_2048.dat' index 14 using 1:2 with linespoints pt 7 title "quant:k=q8_0,v=q8_0", \
     'accuracy_vs_kv_2048.dat' index 15 using 1:2 with linespoints pt 7 title "quant:k=q4_0,v=q4_0", \
     'accuracy_vs_kv_2048.dat' index 16 using 1:2 with linespoints pt 7 title "quant:k=q8_0,v=f16", \
     'accuracy_vs_kv_2048.dat' index 17 using 1:2 with linespoints pt 7 title "snapkv:window=32+quant:k=q8_0,v=q8_0", \
     'accuracy_vs_kv_2048.dat' index 18 using 1:2 with linespoints pt 7 title "full @q8_0", \
     'accuracy_vs_kv_2048.dat' index 19 using 1:2 with linespoints pt 7 title "full @q4_0", \
     'accuracy_vs_kv_2048.dat' index 20 using 1:2 with linespoints pt 7 title "think:recent=64", \
     'accuracy_vs_kv_2048.dat' index 21 using 1:2 with linespoints pt 7 title "spark:recent=64", \
     'accuracy_vs_kv_2048.dat' index 22 using 1:2 with linespoints pt 7 title "spark:recent=64,recovery=zero"
