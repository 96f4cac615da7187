"""Runs a command and prints, every half second, each of its threads'
processor use in that half second (% of one core, from /proc/PID/task):
where an import's time goes, phase by phase. Threads are shown by the last
three digits of their id once they have used 0.2 s.
Usage: python3 bench/platform/threads.py keqing import customers FILE --db URL"""
import os
import subprocess
import sys
import time

proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
hz = os.sysconf("SC_CLK_TCK")
prev = {}
t0 = time.time()
while proc.poll() is None:
    time.sleep(0.5)
    cur = {}
    try:
        tids = os.listdir(f"/proc/{proc.pid}/task")
    except OSError:
        break
    for tid in tids:
        try:
            fields = open(f"/proc/{proc.pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cur[tid] = int(fields[11]) + int(fields[12])
    row = [f"{tid[-3:]}:{(v - prev.get(tid, 0)) * 100 / hz / 0.5:4.0f}"
           for tid, v in sorted(cur.items(), key=lambda kv: int(kv[0])) if v > 0.2 * hz]
    prev = cur
    print(f"{time.time() - t0:5.1f} s  " + " ".join(row), flush=True)
print(f"exit {proc.wait()} after {time.time() - t0:.1f} s")
