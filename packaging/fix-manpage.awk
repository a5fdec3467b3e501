# The generated pages of subcommands name them "nsaudit capture" (two words) in NAME, which
# lexgrog (whatis, apropos; lintian's bad-whatis-entry) cannot parse: NAME gets the page's
# name (nsaudit.capture), and the bare .Nm lines of the synopsis the command as typed.
# Empty lines (an mdoc warning, lintian's groff-message) become paragraph breaks.
/^\.Sh NAME$/ { in_name = 1; print; next }
in_name && /^\.Nm "/ {
    full = substr($0, 5); page = full
    gsub(/"/, "", page); gsub(/ /, ".", page)
    print ".Nm " page; in_name = 0; next
}
in_name && /^\.Nm / { in_name = 0 }
/^\.Nm$/ && full != "" { print ".Nm " full; next }
/^$/ { print ".Pp"; next }
{ print }
