# The tools image made from a verified tools-cache/ (the build context): the
# same layout as the last stage of the tools build (xtask/src/recipe.rs), in a
# few seconds.
FROM scratch
COPY bin/ /bin/
COPY linked/ /linked/
COPY oss_source.tgz oss_source.tgz.md5 /
