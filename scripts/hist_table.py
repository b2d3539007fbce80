#!/usr/bin/env python3
"""Prints ringbuf/hist.c's rb_hist_tab and first_cell: the sub-bucket of each of
the 2048 mantissa cells of an octave, the largest j with 2^(j/40) <= 1 + m/2048,
decided exactly with integers (2048^40 * 2^j <= (2048 + m)^40)."""
S, M = 40, 2048
tab = []
for m in range(M):
    x, j = (M + m) ** S, 0
    while j + 1 < S and M ** S * 2 ** (j + 1) <= x:
        j += 1
    tab.append(j)
print("const uint8_t rb_hist_tab[RB_HIST_CELLS] = {")
for i in range(0, M, 32):
    print("\t" + ", ".join(str(x) for x in tab[i:i + 32]) + ",")
print("};")
print("static const uint16_t first_cell[RB_HIST_LOG_SUB] = {")
print("\t" + ", ".join(str(tab.index(j)) for j in range(S)) + ",")
print("};")
