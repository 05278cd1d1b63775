#!/bin/sh
# vescfw end to end: build -> verify -> show --json -> keygen -> sign ->
# verify --key, the --tree layout, pack, and the error paths (each with a
# precise message, a documented exit code, and nothing left behind).
# Images are made here with mkimage from a synthetic vector table, so the
# test runs without the ARM toolchain; the cross-built sets are verified
# too when they exist.
set -u

: "${top_builddir:?}"
vescfw="$top_builddir/firmware/vescfw"
mkimage="$top_builddir/firmware/mkimage"
[ -x "$vescfw" ] && [ -x "$mkimage" ] || { echo "vescfw/mkimage not built"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vescfw-test.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run EXPECTED_EXIT PATTERN -- command...: exit code and stderr/stdout text
run() {
        want=$1 pat=$2
        shift 3
        "$@" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ "$rc" -ne "$want" ]; then
                bad "$* -> exit $rc, expected $want"
                sed 's/^/    /' "$tmp/out" "$tmp/err"
                return
        fi
        if [ -n "$pat" ] && ! grep -qF -- "$pat" "$tmp/out" "$tmp/err"; then
                bad "$* -> missing '$pat' in:"
                sed 's/^/    /' "$tmp/out" "$tmp/err"
                return
        fi
        ok "$* -> $rc${pat:+ ($pat)}"
}

# A raw "objcopy" output: SP 0x20000800, reset 0x0800C001, 0xFF up to 0xC000.
raw="$tmp/raw.bin"
{
        printf '\000\010\000\040\001\300\000\010'
        head -c $((0xC000 - 8)) /dev/zero | tr '\000' '\377'
        printf 'some thumb code'
} >"$raw"
bl_raw="$tmp/blraw.bin"
{
        printf '\000\010\000\040\201\004\016\010'
        head -c $((0x480 - 8)) /dev/zero | tr '\000' '\377'
} >"$bl_raw"

"$mkimage" app --major 6 --minor 5 --hw 60 --min-bootloader 2 --build-id 1 "$raw" "$tmp/app60.bin" || exit 99
"$mkimage" app --major 6 --minor 5 --hw 410 --min-bootloader 2 --build-id 2 "$raw" "$tmp/app410.bin" || exit 99
"$mkimage" app --major 5 --minor 3 --hw 60 --min-bootloader 1 --build-id 3 "$raw" "$tmp/app503.bin" || exit 99
"$mkimage" bootloader --generation 2 --hw 60 "$bl_raw" "$tmp/bl60.bin" || exit 99
"$mkimage" bootloader --generation 2 --hw 410 "$bl_raw" "$tmp/bl410.bin" || exit 99

# ------------------------------------------------------------ happy path
run 0 "id " -- "$vescfw" build --name t-6.05 --version 6.05 --output "$tmp/set" \
        --app 60="$tmp/app60.bin" --bootloader 60="$tmp/bl60.bin" --app 410="$tmp/app410.bin"
id=$(sed -n 's/.*id \([0-9a-f]\{16\}\).*/\1/p' "$tmp/out")
[ -n "$id" ] && ok "set id $id" || bad "no set id printed"
[ -f "$tmp/set/manifest.json" ] && [ -f "$tmp/set/60/firmware.bin" ] && [ -f "$tmp/set/60/bootloader.bin" ] &&
        ok "directory layout" || bad "directory layout"
expect_id=$(sha256sum "$tmp/set/manifest.json" | cut -c1-16)
[ "$id" = "$expect_id" ] && ok "id = first 16 hex digits of SHA-256(manifest.json)" || bad "id $id != $expect_id"

run 0 "OK: set t-6.05 6.05, id $id, 2 hardware name(s), signature none" -- "$vescfw" verify "$tmp/set"
run 0 '"firmware_version": "6.05"' -- "$vescfw" show --json "$tmp/set"
grep -q "\"id\": \"$id\"" "$tmp/out" && ok "show --json id" || bad "show --json id"
grep -q '"bootloader": null' "$tmp/out" && ok "show --json: 410 has no bootloader" || bad "bootloader null"
run 0 "needs bootloader generation 2, uploaded compressed" -- "$vescfw" show "$tmp/set"

run 0 "id $id" -- "$vescfw" pack --output "$tmp/set.tar" "$tmp/set"
run 0 "id $id" -- "$vescfw" verify "$tmp/set.tar"
tar tf "$tmp/set.tar" >"$tmp/list" 2>&1 && grep -qx 'manifest.json' "$tmp/list" && grep -qx '60/firmware.bin' "$tmp/list" &&
        ok "tar(1) reads the archive" || bad "tar(1) listing"

# A build tree: one folder per hw name.
mkdir -p "$tmp/tree/60" "$tmp/tree/410" "$tmp/tree/empty"
cp "$tmp/app60.bin" "$tmp/tree/60/60.bin"
cp "$tmp/bl60.bin" "$tmp/tree/60/bootloader.bin"
cp "$tmp/app410.bin" "$tmp/tree/410/VESC_default.bin"
cp "$tmp/bl410.bin" "$tmp/tree/410/bootloader.bin"
run 0 "" -- "$vescfw" build --name tree --version 6.05 --tree "$tmp/tree" --output "$tmp/tree.tar"
run 0 "2 hardware name(s)" -- "$vescfw" verify "$tmp/tree.tar"
run 0 '"source": "firmware build tree tree"' -- "$vescfw" show --json "$tmp/tree.tar"

# ------------------------------------------------------------ signatures
run 0 "public key" -- "$vescfw" keygen --output "$tmp/k"
[ "$(stat -c %a "$tmp/k.key")" = 600 ] && ok "secret key mode 0600" || bad "secret key mode"
run 1 "refusing to overwrite" -- "$vescfw" keygen --output "$tmp/k"
run 0 "" -- "$vescfw" keygen --output "$tmp/other"

run 3 "missing, but signed sets are required" -- "$vescfw" verify --key "$tmp/k.pub" --require-signed "$tmp/set"
run 0 "signed set t-6.05 (id $id)" -- "$vescfw" sign --key "$tmp/k.key" "$tmp/set"
run 0 "signature valid" -- "$vescfw" verify --key "$tmp/k.pub" --require-signed "$tmp/set"
run 0 "signature unchecked" -- "$vescfw" verify "$tmp/set"
run 3 "does not verify with any of the 1 trusted key(s)" -- "$vescfw" verify --key "$tmp/other.pub" "$tmp/set"
run 3 "no trusted key is configured" -- "$vescfw" verify --require-signed "$tmp/set"
printf 'require-signed\n' >"$tmp/trust"
cat "$tmp/k.pub" >>"$tmp/trust"
run 0 "signature valid" -- "$vescfw" verify --trust "$tmp/trust" "$tmp/set"
run 0 "" -- "$vescfw" sign --key "$tmp/k.key" "$tmp/set.tar"
run 0 "signature valid" -- "$vescfw" verify --key "$tmp/k.pub" "$tmp/set.tar"
# Flip one bit of the signature.
cp -r "$tmp/set" "$tmp/set-badsig"
printf '\377' | dd of="$tmp/set-badsig/manifest.json.sig" bs=1 seek=5 conv=notrunc 2>/dev/null
run 3 "does not verify" -- "$vescfw" verify --key "$tmp/k.pub" "$tmp/set-badsig"
run 1 "not a secret key file" -- "$vescfw" sign --key "$tmp/k.pub" "$tmp/set"
run 1 'found "ed25519-secret"' -- "$vescfw" verify --key "$tmp/k.key" "$tmp/set"
grep -q "$(cut -d' ' -f2 "$tmp/k.key" | cut -c1-8)" "$tmp/err" && bad "secret key echoed" || ok "secret key not echoed"

# ------------------------------------------------------------ error paths
run 2 "usage" -- "$vescfw"
run 2 "unknown command 'frobnicate'" -- "$vescfw" frobnicate
run 2 "--name, --version and --output are required" -- "$vescfw" build --app 60="$tmp/app60.bin"
run 2 "expected HW=FILE" -- "$vescfw" build --name x --version 1 --output "$tmp/x" --app "$tmp/app60.bin"
run 2 "expected exactly one SET argument" -- "$vescfw" verify
run 1 "wrong hardware: descriptor says '410', given for '60'" -- "$vescfw" build --name x --version 1 \
        --output "$tmp/x" --app 60="$tmp/app410.bin"
run 1 "No such file" -- "$vescfw" build --name x --version 1 --output "$tmp/x" --app 60="$tmp/nope.bin"
# A 5.03 image declared for 6.x would not match its descriptor's size rule.
head -c 100000 "$tmp/app60.bin" >"$tmp/short.bin"
run 1 "size 100000 does not fit firmware 6.05: expected 524280" -- "$vescfw" build --name x --version 1 \
        --output "$tmp/x" --app 60="$tmp/short.bin"
run 2 "no VESCDFW1 descriptor: give --firmware-version" -- "$vescfw" build --name x --version 1 \
        --output "$tmp/x" --app 60="$raw"
run 1 "cannot move into place" -- "$vescfw" build --name t-6.05 --version 6.05 --output "$tmp/set" \
        --app 60="$tmp/app60.bin"
[ ! -e "$tmp/x" ] && ok "no output after failed builds" || bad "failed build left $tmp/x"
ls -A "$tmp" | grep -q 'tmp-' && bad "temporary files left: $(ls -A "$tmp" | grep tmp-)" || ok "no temporary files left"

cp -r "$tmp/set" "$tmp/set-corrupt"
printf 'X' | dd of="$tmp/set-corrupt/60/firmware.bin" bs=1 seek=50000 conv=notrunc 2>/dev/null
run 1 "60/firmware.bin (hardware '60'): SHA-256 mismatch" -- "$vescfw" verify "$tmp/set-corrupt"
cp -r "$tmp/set" "$tmp/set-traversal"
sed -i 's|"60/firmware.bin"|"../set/60/firmware.bin"|' "$tmp/set-traversal/manifest.json"
run 1 "unsafe file name \"../set/60/firmware.bin\"" -- "$vescfw" verify "$tmp/set-traversal"
cp -r "$tmp/set" "$tmp/set-json"
printf '{"format_version": 1,' >"$tmp/set-json/manifest.json"
run 1 "manifest.json: not valid JSON" -- "$vescfw" verify "$tmp/set-json"
cp -r "$tmp/set" "$tmp/set-version"
sed -i '0,/"firmware_minor": 5/s//"firmware_minor": 6/' "$tmp/set-version/manifest.json"
run 1 "version mismatch: descriptor says 6.05 test build 0, manifest says 6.06" -- "$vescfw" verify "$tmp/set-version"
run 1 "cannot open" -- "$vescfw" verify "$tmp/does-not-exist"
printf 'not a tar' >"$tmp/junk.tar"
run 1 "archive: length 9 is not a multiple of 512" -- "$vescfw" verify "$tmp/junk.tar"

# ------------------------------------------------- the cross-built sets
if [ "${HAVE_ARM_TOOLCHAIN:-no}" = yes ]; then
        for s in vesc-5.03-test vesc-5.03-test.tar vesc-6.05-test vesc-6.05-test.tar; do
                run 0 "OK: set" -- "$vescfw" verify "$top_builddir/firmware/imagesets/$s"
        done
        d=$(sed -n 's/.*id \([0-9a-f]*\).*/\1/p' "$tmp/out")
        run 0 "id $d" -- "$vescfw" verify "$top_builddir/firmware/imagesets/vesc-6.05-test"
else
        echo "skip: cross-built image sets (no arm-none-eabi-gcc)"
fi

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
