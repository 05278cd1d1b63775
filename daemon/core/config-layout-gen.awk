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
        # No pointers in the rows (see ConfigParam): strings are char arrays
        # (the compiler refuses one that does not fit), enum labels an index
        # into config_labels[].
        nlab = 0
        if ($13 != "")
                nlab = split($13, lab, "|")
        first = nlabels
        for (i = 1; i <= nlab; i++)
                labdefs = labdefs sprintf("        %s,\n", cstr(lab[i]))
        nlabels += nlab
        if (nlabels > 65535) {
                printf "config-layout-gen.awk: more than 65535 enum labels\n" > "/dev/stderr"
                exit 1
        }
        body = body sprintf("        { %s, %d, CONFIG_ENC_%s, CONFIG_KIND_%s, %s, %s, %s, %s, %s, %s, %s, %u, %u },\n",
                cstr($3), $4, e, toupper($6), cstr($7), cstr($8), num(scale), num($9),
                num($10), num($11), num($12), nlab ? first : 0, nlab)
        count++
}

END {
        close_layout()
        printf "const char config_labels[][CONFIG_LABEL_MAX] = {\n%s        \"\",\n};\n\n", labdefs
        printf "%s", body
        print "const ConfigLayout config_layouts[] = {"
        for (i = 1; i <= nl; i++)
                printf "        { \"%s\", %s, %su, %d, layout_%d_params, %d },\n",
                        lver[i], lwhich[i], lsig[i], lsize[i], i, lcount[i]
        print "};"
        print ""
        printf "const size_t config_layouts_count = %d;\n", nl
}
