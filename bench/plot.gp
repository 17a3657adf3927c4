# SPDX-License-Identifier: GPL-2.0-only
#
# Plot of one benchmark run, drawn by bench/report.sh:
#   gnuplot -e "dir='DATADIR'; out='plot.png'" bench/plot.gp
# DATADIR holds tr.dat (translation: case, random median p10 p90,
# sequential median p10 p90), reg.N.dat (registration ratio to io_uring:
# size median p10 p90), floor.N.dat (the floor module / io_uring, same
# columns), vfio.N.dat (VFIO type1 / io_uring, then attached / io_uring:
# size median p10 p90 median p10 p90), not.N.dat (notification: R, register, unregister,
# replay ns per region) and plot.vars (series counts and titles).

load dir.'/plot.vars'

if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
	set terminal pngcairo size 1800,620 font 'sans,10'
} else {
	set terminal png size 1800,620
}
set output out
set termoption noenhanced
set multiplot layout 1,3
set grid ytics mytics
set key top left box opaque

# 1. translation
set title 'Translation, host '.hostkernel.' (ns per lookup, log scale; bars: p10-p90)'
set logscale y
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.6 border -1
set boxwidth 0.9
set xtics rotate by -35 left nomirror
set ylabel 'ns per lookup'
set yrange [0.3:*]
plot dir.'/tr.dat' using 2:3:4:xtic(1) title 'random', \
     '' using 5:6:7 title 'sequential'

# 2. registration
unset style
set style data linespoints
unset logscale
set xtics norotate
set title 'Registration + unregistration vs io_uring (guests; ratio, bars: p10-p90)'
set logscale x 2
set xlabel 'bytes registered'
set ylabel 'time / io_uring time'
set yrange [0:*]
set format x '%.0b%BB'
if (nreg > 0) {
	plot for [i=0:nreg-1] dir.'/reg.'.i.'.dat' using 1:2:3:4 with yerrorlines title 'libvtop '.word(regtitles, i+1), \
	     for [i=0:nfloor-1] dir.'/floor.'.i.'.dat' using 1:2:3:4 with yerrorlines dt 2 lw 2 title 'floor (bare GUP) '.word(floortitles, i+1).'/4k', \
	     for [i=0:nvfio-1] dir.'/vfio.'.i.'.dat' using 1:2:3:4 with yerrorlines dt 4 lw 2 title 'VFIO type1 '.word(vfiotitles, i+1).'/4k', \
	     for [i=0:nvfio-1] dir.'/vfio.'.i.'.dat' using 1:5:6:7 with yerrorlines dt 5 lw 2 title 'vtop attached '.word(vfiotitles, i+1).'/4k', \
	     1 with lines dt 2 lc rgb 'black' title 'goal: 1.0x'
} else {
	set label 1 'no guest data' at graph 0.4, graph 0.5
	plot 1.3 with lines dt 2 title 'goal 1.3x'
	unset label 1
}

# 3. notification
unset logscale
set format x '%g'
set title 'Notification scale, host (ns per region, 4 KiB regions)'
set logscale xy
set xlabel 'regions R'
set ylabel 'ns per region'
set yrange [*:*]
if (nnot > 0) {
	plot for [i=0:nnot-1] dir.'/not.'.i.'.dat' using 1:2 with linespoints lw 2 title 'register, '.word(nottitles, i+1), \
	     for [i=0:nnot-1] dir.'/not.'.i.'.dat' using 1:3 with linespoints dt 2 title 'unregister, '.word(nottitles, i+1), \
	     for [i=0:nnot-1] dir.'/not.'.i.'.dat' using 1:4 with linespoints dt 3 title 'replay, '.word(nottitles, i+1)
} else {
	set label 1 'no notification data' at graph 0.3, graph 0.5
	plot 1 notitle
}
unset multiplot
