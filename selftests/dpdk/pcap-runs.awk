# SPDX-License-Identifier: GPL-2.0-only
#
# Read `tcpdump -nn -x` output of the frames vtop-dpdk sent (EtherType
# 0x88b5, "VTOPDPDK" header) and check each one on the wire: sequence
# number, length, every payload byte (the example's pattern). Prints one
# line per run of consecutive intact frames starting at sequence 0
# ("run: N frames") and a summary ("frames: T, intact: I, damaged: D").
# POSIX awk (mawk): no strtonum.
function hex(s,   v, i) {
	v = 0
	for (i = 1; i <= length(s); i++)
		v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v
}
function pattern(seq, i) {
	return (seq * 31 + i * 7 + int(i / 256) + 90) % 256
}
function endrun() {
	if (run > 0)
		print "run: " run " frames"
	run = 0
}
# b[0..n-1]: the frame from byte 14 on (tcpdump -x leaves out the
# link-level header)
function check(   seq, len, i, ok) {
	if (n < 16)
		return
	frames++
	seq = b[8] + b[9] * 256 + b[10] * 65536 + b[11] * 16777216
	len = b[12] + b[13] * 256
	ok = (len == n + 14)
	for (i = 30; ok && i < len; i++)
		if (b[i - 14] != pattern(seq, i))
			ok = 0
	if (!ok) {
		damaged++
		endrun()
		return
	}
	intact++
	if (seq == 0 || seq != last + 1)
		endrun()
	if (seq == 0 || run > 0)
		run++
	last = seq
}
/^[0-9]/ { check(); n = 0; next }
/^[ \t]+0x[0-9a-f]+:/ {
	for (f = 2; f <= NF; f++) {
		g = $f
		while (length(g) >= 2) {
			b[n++] = hex(substr(g, 1, 2))
			g = substr(g, 3)
		}
	}
}
END {
	check()
	endrun()
	print "frames: " frames + 0 ", intact: " intact + 0 ", damaged: " damaged + 0
}
