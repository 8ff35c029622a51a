#!/usr/bin/env bash
# Builds the firmware, runs it on QEMU's mps2-an386 (Cortex-M4F), saves what it printed, compares
# it with the host computation, and prints the firmware's flash/RAM sizes.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
out_dir="$root/target/embedded"
mkdir -p "$out_dir"
command -v qemu-system-arm >/dev/null || { echo "embedded: qemu-system-arm is missing (apt-get install qemu-system-arm)"; exit 1; }
(cd firmware && cargo build --release --quiet)
elf=firmware/target/thumbv7em-none-eabihf/release/noisekit-firmware
timeout 120 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
  -semihosting-config enable=on,target=native -kernel "$elf" > "$out_dir/firmware-output.txt"
grep -q "status ok" "$out_dir/firmware-output.txt"
python3 - "$elf" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
shoff, = struct.unpack_from("<I", data, 0x20)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
secs = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
strtab = secs[shstrndx]
name = lambda off: data[strtab[4] + off:data.index(b"\0", strtab[4] + off)].decode()
size = {name(s[0]): s[5] for s in secs}
text = sum(size.get(k, 0) for k in (".vector_table", ".text", ".rodata"))
ram = sum(size.get(k, 0) for k in (".data", ".bss", ".uninit"))
print(f"firmware size: text (flash) {text} B = {text / 1024:.1f} KiB, static RAM (data+bss) {ram} B")
PY
grep "stack_"  "$out_dir/firmware-output.txt"
cd "$root"
NOISEKIT_FIRMWARE_OUTPUT="$out_dir/firmware-output.txt" \
  cargo test --release -p noisekit-embedded-workloads --test parity -- --nocapture
