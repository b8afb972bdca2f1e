#!/bin/sh
# stage-prefix.sh PREFIX MODULE ERRORFILE STAMP [COREDIR]
# Lays the build tree out as an Evolution prefix (symbolic links, so a rebuild is picked up at once):
#   PREFIX/lib/evolution/modules/module-mailmove.so   PREFIX/share/evolution/errors/mailmove.error
# and PREFIX/lib/evolution/core → COREDIR, where the module's build RUNPATH ($ORIGIN/../core) finds
# libmailmove.so.0 when Evolution loads the module through the prefix.
set -eu
prefix=$1 module=$2 errors=$3 stamp=$4 core=${5:-}
mkdir -p "$prefix/lib/evolution/modules" "$prefix/share/evolution/errors"
ln -sf "$(realpath "$module")" "$prefix/lib/evolution/modules/$(basename "$module")"
ln -sf "$(realpath "$errors")" "$prefix/share/evolution/errors/$(basename "$errors")"
if [ -n "$core" ]; then
  ln -sfn "$(realpath "$core")" "$prefix/lib/evolution/core"
fi
touch "$stamp"
