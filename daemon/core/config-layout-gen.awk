# config-layout-gen.awk: turn config-layouts.tsv into C (the table of
# config-layout.c).  Run by the build: awk -f config-layout-gen.awk TSV > C
BEGIN {
        FS = "\t"
        nl = 0
        print "/* Generated from config-layouts.tsv by config-layout-gen.awk; do not edit. */"
        print "#include \"core/config-layout.h\""
        print ""
        body = ""
        labdefs = ""
        encs["u8"] = "U8"; encs["i8"] = "I8"; encs["u16"] = "U16"; encs["i16"] = "I16"
        encs["u32"] = "U32"; encs["i32"] = "I32"; encs["f32a"] = "F32A"
        width["U8"] = 1; width["I8"] = 1; width["U16"] = 2; width["I16"] = 2
        width["U32"] = 4; width["I32"] = 4; width["F16"] = 2; width["F32"] = 4; width["F32A"] = 4
}

function cstr(s) {
        gsub(/\\/, "\\\\", s)
        gsub(/"/, "\\\"", s)
        return "\"" s "\""
}

function num(s) {
        # a C double literal
        if (s ~ /^-?[0-9]+$/)
                return s ".0"
        return s
}

function close_layout() {
        if (nl == 0)
                return
        body = body "};\n\n"
        lsize[nl] = size
        lcount[nl] = count
}

/^#/ { next }
$1 == "layout" { next }
NF < 12 { printf "config-layout-gen.awk: bad row %d\n", NR > "/dev/stderr"; exit 1 }

{
        key = $1 "/" $2
        if (key != cur) {
                close_layout()
                cur = key
                nl++
                lver[nl] = $1
                lwhich[nl] = ($2 == "mcconf") ? "CONFIG_MCCONF" : "CONFIG_APPCONF"
                size = 0
                count = 0
                np = 0
                body = body sprintf("static const ConfigParam layout_%d_params[] = {   /* %s %s */\n", nl, $1, $2)
        }
        enc = $5
        scale = "1"
        if (enc ~ /^f16\(/ || enc ~ /^f32\(/) {
                scale = enc
                sub(/^f[0-9]+\(/, "", scale)
                sub(/\)$/, "", scale)
                e = (enc ~ /^f16/) ? "F16" : "F32"
        } else if (enc in encs) {
                e = encs[enc]
        } else {
                printf "config-layout-gen.awk: row %d: unknown encoding %s\n", NR, enc > "/dev/stderr"
                exit 1
        }
        end = $4 + width[e]
        if (end > size)
                size = end
        if ($6 == "signature") {
                lsig[nl] = $12
                next
        }
        labels = "NULL"
        nlab = 0
        if ($13 != "")
                nlab = split($13, lab, "|")
        if (nlab > 0) {
                labels = sprintf("layout_%d_labels_%d", nl, count)
                s = ""
                for (i = 1; i <= nlab; i++)
                        s = s (i > 1 ? ", " : "") cstr(lab[i])
                labdefs = labdefs sprintf("static const char *const %s[] = { %s };\n", labels, s)
        }
        body = body sprintf("        { %s, %d, CONFIG_ENC_%s, %s, CONFIG_KIND_%s, %s, %s, %s, %s, %s, %s, %s, %u },\n",
                cstr($3), $4, e, num(scale), toupper($6), cstr($7), cstr($8), num($9),
                num($10), num($11), num($12), labels, nlab)
        count++
}

END {
        close_layout()
        # Label arrays first: the parameter rows refer to them.
        printf "%s\n%s", labdefs, body
        print "const ConfigLayout config_layouts[] = {"
        for (i = 1; i <= nl; i++)
                printf "        { \"%s\", %s, %su, %d, layout_%d_params, %d },\n",
                        lver[i], lwhich[i], lsig[i], lsize[i], i, lcount[i]
        print "};"
        print ""
        printf "const size_t config_layouts_count = %d;\n", nl
}
