#!/bin/sh
# lua-to-c.sh NAME FILE... - print C source defining `const char NAME[]`
# holding the FILEs one after the other: how the Redis scripts are built
# into the library (sed alone, no xxd).  make writes the output under the
# build tree; it is never shipped or committed.
name=$1
shift
echo "/* Generated from $* by make: do not edit. */"
echo '/* clang-format off */'
echo "extern const char $name[];"
echo "const char $name[] ="
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$/\\n"/' "$@"
echo ';'
