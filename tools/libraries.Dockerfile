# The sources of the libraries the tools link, as listed by their links
# (tools-cache/linked/): each Debian source package at the exact version, with
# its licence texts (debian/copyright of the binary package linked). `cargo
# tools` puts this file after tools/env.Dockerfile and passes the list in
# LIBRARIES, one "binary-package source version" per line, when it differs
# from what tools-cache/ holds.
# `env` is the stage of tools/env.Dockerfile, which `cargo tools` puts first.
# hadolint ignore=DL3006
FROM env AS libraries
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
ARG LIBRARIES
WORKDIR /oss
RUN test -n "$LIBRARIES" \
 && printf '%s\n' "$LIBRARIES" | while read -r binary source version; do \
      test -n "$binary" || continue; \
      apt-get source -q --download-only "$source=$version" > /dev/null \
      || { echo "error: the source of $source $version, linked into the tools, is not on $DEBIAN_MIRROR: build the tools without that library (a release never ships a library without its source)" >&2; exit 1; }; \
      mkdir -p "licenses/$source" \
      && cp -L "/usr/share/doc/${binary%%:*}/copyright" "licenses/$source/copyright" \
      || exit 1; \
    done
