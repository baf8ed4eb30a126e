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
set label "full" at 4096.000,26.771 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=64,window=32" at 131.788,16.198 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=64,window=32+think:ratio=0.5" at 99.871,14.635 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=64,window=32+think:ratio=0.8" at 79.697,0.677 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=64,window=32+spark:ratio=0.5,recovery=mean,recent=0" at 109.716,16.198 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=64,window=32+spark:ratio=0.8,recovery=mean,recent=0" at 90.154,15.417 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=128,window=32" at 263.577,18.073 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=128,window=32+think:ratio=0.5" at 198.712,16.042 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=128,window=32+think:ratio=0.8" at 158.976,0.625 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=128,window=32+spark:ratio=0.5,recovery=mean,recent=0" at 217.309,18.542 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=128,window=32+spark:ratio=0.8,recovery=mean,recent=0" at 178.185,18.125 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32" at 527.154,19.635 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32+think:ratio=0.5" at 396.395,16.250 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32+think:ratio=0.8" at 317.534,0.885 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32+spark:ratio=0.5,recovery=mean,recent=0" at 432.495,19.688 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32+spark:ratio=0.8,recovery=mean,recent=0" at 354.246,19.271 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=512,window=32" at 1054.307,20.000 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=512,window=32+think:ratio=0.5" at 791.760,16.146 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=512,window=32+think:ratio=0.8" at 634.650,0.417 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=512,window=32+spark:ratio=0.5,recovery=mean,recent=0" at 862.867,20.417 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=512,window=32+spark:ratio=0.8,recovery=mean,recent=0" at 706.368,20.938 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "streamingllm:budget=128" at 263.577,2.552 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "h2o:budget=128" at 263.577,2.760 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "tova:budget=128" at 263.577,0.208 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "pyramidkv:budget=128,window=32" at 264.606,17.969 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "streamingllm:budget=512" at 1054.307,9.323 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "h2o:budget=512" at 1054.307,6.510 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "tova:budget=512" at 1054.307,0.677 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "pyramidkv:budget=512,window=32" at 1054.307,21.458 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "think:ratio=0.5" at 3073.030,19.531 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "think:ratio=0.8" at 2464.418,0.000 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,recovery=mean,recent=0" at 3346.124,26.771 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8,recovery=mean,recent=0" at 2738.124,26.302 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,kq=q8,recovery=mean,recent=0" at 2850.124,26.771 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8,kq=q8,recovery=mean,recent=0" at 2546.124,26.302 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,kq=q4,recovery=mean,recent=0" at 2594.124,26.667 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5" at 3424.116,26.771 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8" at 2825.897,26.354 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,kq=q4" at 2684.213,26.615 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "quant:k=q8_0,v=q8_0" at 2176.000,26.875 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "quant:k=q4_0,v=q4_0" at 1152.000,26.771 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "quant:k=q8_0,v=f16" at 3136.000,26.875 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "snapkv:budget=256,window=32+quant:k=q8_0,v=q8_0" at 280.050,19.635 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "think:ratio=0.5,recent=64" at 3105.977,20.000 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,recent=64,recovery=mean" at 3370.319,26.823 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8,recent=64,recovery=mean" at 2781.881,26.250 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,recent=64,recovery=zero" at 3230.952,26.458 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8,recent=64,recovery=zero" at 2642.515,24.479 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "full @q8_0" at 2176.000,26.250 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,recovery=mean,recent=0 @q8_0" at 2176.000,26.250 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8,recovery=mean,recent=0 @q8_0" at 1778.123,25.417 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "full @q4_0" at 1152.000,26.042 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.5,recovery=mean,recent=0 @q4_0" at 1152.000,26.042 offset 0.6,0.3 font ",7" tc rgb "#555555"
set label "spark:ratio=0.8,recovery=mean,recent=0 @q4_0" at 1152.000,26.042 offset 0.6,0.3 font ",7" tc rgb "#555555"
plot 'accuracy_vs_kv_2048.dat' index 0 using 1:2 with linespoints pt 7 title "full", \
     'accuracy_vs_kv_2048.dat' index 1 using 1:2 with linespoints pt 7 title "snapkv:window=32", \
     'accuracy_vs_kv_2048.dat' index 2 using 1:2 with linespoints pt 7 title "snapkv:window=32+think:ratio=0.5", \
     'accuracy_vs_kv_2048.dat' index 3 using 1:2 with linespoints pt 7 title "snapkv:window=32+think:ratio=0.8", \
     'accuracy_vs_kv_2048.dat' index 4 using 1:2 with linespoints pt 7 title "snapkv:window=32+spark:ratio=0.5,recovery=mean,recent=0", \
     'accuracy_vs_kv_2048.dat' index 5 using 1:2 with linespoints pt 7 title "snapkv:window=32+spark:ratio=0.8,recovery=mean,recent=0", \
     'accuracy_vs_kv_2048.dat' index 6 using 1:2 with linespoints pt 7 title "streamingllm", \
     'accuracy_vs_kv_2048.dat' index 7 using 1:2 with linespoints pt 7 title "h2o", \
     'accuracy_vs_kv_2048.dat' index 8 using 1:2 with linespoints pt 7 title "tova", \
     'accuracy_vs_kv_2048.dat' index 9 using 1:2 with linespoints pt 7 title "pyramidkv:window=32", \
     'accuracy_vs_kv_2048.dat' index 10 using 1:2 with linespoints pt 7 title "think", \
     'accuracy_vs_kv_2048.dat' index 11 using 1:2 with linespoints pt 7 title "spark:recovery=mean,recent=0", \
     'accuracy_vs_kv_2048.dat' index 12 using 1:2 with linespoints pt 7 title "spark:kq=q8,recovery=mean,recent=0", \
     'accuracy_vs_kv_2048.dat' index 13 using 1:2 with linespoints pt 7 title "spark:kq=q4,recovery=mean,recent=0", \
     'accuracy_vs_kv_2048.dat' index 14 using 1:2 with linespoints pt 7 title "spark", \
     'accuracy_vs_kv_2048.dat' index 15 using 1:2 with linespoints pt 7 title "spark:kq=q4", \
     'accuracy_vs_kv_2048.dat' index 16 using 1:2 with linespoints pt 7 title "quant:k=q8_0,v=q8_0", \
     'accuracy_vs_kv_2048.dat' index 17 using 1:2 with linespoints pt 7 title "quant:k=q4_0,v=q4_0", \
     'accuracy_vs_kv_2048.dat' index 18 using 1:2 with linespoints pt 7 title "quant:k=q8_0,v=f16", \
     'accuracy_vs_kv_2048.dat' index 19 using 1:2 with linespoints pt 7 title "snapkv:window=32+quant:k=q8_0,v=q8_0", \
     'accuracy_vs_kv_2048.dat' index 20 using 1:2 with linespoints pt 7 title "think:recent=64", \
     'accuracy_vs_kv_2048.dat' index 21 using 1:2 with linespoints pt 7 title "spark:recent=64,recovery=mean", \
     'accuracy_vs_kv_2048.dat' index 22 using 1:2 with linespoints pt 7 title "spark:recent=64,recovery=zero", \
     'accuracy_vs_kv_2048.dat' index 23 using 1:2 with linespoints pt 7 title "full @q8_0", \
     'accuracy_vs_kv_2048.dat' index 24 using 1:2 with linespoints pt 7 title "spark:recovery=mean,recent=0 @q8_0", \
     'accuracy_vs_kv_2048.dat' index 25 using 1:2 with linespoints pt 7 title "full @q4_0", \
     'accuracy_vs_kv_2048.dat' index 26 using 1:2 with linespoints pt 7 title "spark:recovery=mean,recent=0 @q4_0"
