# What each link used, from its map: the archives members were taken from
# ("Archive member included" section) and the objects it loaded (LOAD lines),
# outside the trees built here, each with the Debian package that owns it, as
# /linked/<arch>/<tool>.tsv (path, package, version, source package, source
# version). A linked file no package owns fails the build: its source could not
# be shipped. `cargo tools` puts this file after the recipes, the maps of the
# tools being built gathered in a stage `maps` as /<arch>/<tool>.ldmap.
# `env` is the stage of tools/env.Dockerfile, which `cargo tools` puts first.
# hadolint ignore=DL3006
FROM env AS links
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# `maps` is written by `cargo tools` just before this file.
# hadolint ignore=DL3022
COPY --from=maps / /maps/
# The awk program is quoted on purpose.
# hadolint ignore=SC2016
RUN for map in /maps/*/*.ldmap; do \
      arch=$(basename "$(dirname "$map")"); tool=$(basename "$map" .ldmap); \
      awk 'function keep(f) { if (f ~ /^\// && f !~ /^\/(src|build|tmp)\//) print f } \
           /^Archive member included/ { on = 1; next } \
           /^(Discarded input sections|Allocating common symbols|Memory Configuration)/ { on = 0 } \
           on && /^\// { sub(/\(.*/, "", $1); keep($1) } \
           $1 == "LOAD" && $2 ~ /\.o$/ { keep($2) }' "$map" \
      | xargs -r realpath -e | sort -u > /tmp/files || exit 1; \
      test -s /tmp/files || { echo "error: $tool ($arch): its link map lists no linked file: the link map format changed" >&2; exit 1; }; \
      mkdir -p "/linked/$arch"; \
      while read -r file; do \
        owner=$( { dpkg -S "$file" || dpkg -S "${file#/usr}"; } 2>/dev/null | head -n1 | sed 's/: .*//'); \
        test -n "$owner" || { echo "error: $tool ($arch): the link used $file, which no Debian package owns: its source cannot be shipped" >&2; exit 1; }; \
        dpkg-query -W -f "$file\t\${binary:Package}\t\${Version}\t\${source:Package}\t\${source:Version}\n" "$owner" || exit 1; \
      done < /tmp/files > "/linked/$arch/$tool.tsv" || exit 1; \
    done
