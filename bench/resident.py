#!/usr/bin/env python3
"""Where a process's resident pages are (issue 12's memory breakdown).

    python3 bench/resident.py PID      (as root: /proc/PID/pagemap)

For each page of the process that is present, per /proc/PID/pagemap: the ELF
section of the executable it maps (`readelf -S`: .text, .rodata, the SEA blob
note) and the executable's symbols of 256 KiB or more it falls in (`nm -S`:
icudt*_dat is ICU's data, v8::internal::blob_data V8's), or the mapping it
belongs to ([anon], [heap], shared libraries); then VmRSS/RssAnon/RssFile.
"""
import collections
import os
import struct
import subprocess
import sys

PAGE = 4096
pid = int(sys.argv[1])
exe = os.readlink(f'/proc/{pid}/exe')

sections = []  # (file offset, end, name, address)
for line in subprocess.run(['readelf', '-S', '-W', exe], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.replace('[ ', '[').split()
    if len(parts) > 6 and parts[0].startswith('[') and parts[0] != '[Nr]':
        try:
            name, kind, addr, off, size = parts[1], parts[2], int(parts[3], 16), int(parts[4], 16), int(parts[5], 16)
        except ValueError:
            continue  # an unnamed note: its columns shift
        if size and kind != 'NOBITS':
            sections.append((off, off + size, name, addr))
symbols = []
for line in subprocess.run(['nm', '-S', '--defined-only', exe], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) >= 4 and int(parts[1], 16) >= 256 * 1024:
        start = int(parts[0], 16)
        symbols.append((start, start + int(parts[1], 16), parts[3][:60]))

per_section = collections.Counter()
per_symbol = collections.Counter()
per_mapping = collections.Counter()
with open(f'/proc/{pid}/pagemap', 'rb') as pagemap:
    for line in open(f'/proc/{pid}/maps'):
        parts = line.split()
        lo, hi = (int(x, 16) for x in parts[0].split('-'))
        path = parts[5] if len(parts) > 5 else '[anon]'
        pages = (hi - lo) // PAGE
        pagemap.seek(lo // PAGE * 8)
        data = pagemap.read(pages * 8)
        if len(data) < pages * 8:
            continue  # [vsyscall]
        for i in range(pages):
            if not struct.unpack_from('<Q', data, i * 8)[0] >> 63:
                continue
            if path != exe:
                per_mapping[path] += 1
                continue
            offset = int(parts[2], 16) + i * PAGE
            section = next((s for s in sections if s[0] <= offset < s[1]), None)
            # The SEA blob is a note postject appends, which readelf lists without a name.
            per_section[(section[2] if section else 'no section (SEA blob note, padding)', parts[1])] += 1
            if section:
                address = offset - section[0] + section[3]
                symbol = next((s[2] for s in symbols if s[0] <= address < s[1]), None)
                if symbol:
                    per_symbol[symbol] += 1

kib = lambda pages: pages * PAGE // 1024
print(f'{exe}: resident KiB per section')
for (name, perm), pages in per_section.most_common():
    print(f'  {kib(pages):8d}  {name} {perm}')
print(f'  {kib(sum(per_section.values())):8d}  total')
print('symbols of 256 KiB or more, resident KiB')
for name, pages in per_symbol.most_common(10):
    print(f'  {kib(pages):8d}  {name}')
print('other mappings, resident KiB')
for name, pages in per_mapping.most_common(12):
    print(f'  {kib(pages):8d}  {name}')
status = open(f'/proc/{pid}/status').read().splitlines()
print(' '.join(line.replace('\t', '') for line in status if line.split(':')[0] in ('VmRSS', 'RssAnon', 'RssFile', 'VmHWM', 'Threads')))
