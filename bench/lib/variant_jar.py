#!/usr/bin/env python3
"""Usage: variant_jar.py SRC.jar DST.jar --revision REV [--append-conf TEXT]

Writes a copy of a built heyken-core.jar that reports another version (heyken-version.properties gets
revision=REV and a new build_time) and, with --append-conf, has TEXT appended to its application.conf
(e.g. 'heyken.cluster.system-name = "other"': a core that never joins, so never /ready). Cheaper than a
second Maven build: the benchmark and the upgrade tests derive their variant jars this way.
"""
import sys
import time
import zipfile


def main(argv):
    if len(argv) < 4 or argv[3] != "--revision" or len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 64
    src, dst, rev = argv[1], argv[2], argv[4]
    append = argv[6] if len(argv) >= 7 and argv[5] == "--append-conf" else None
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst + ".tmp", "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "heyken-version.properties":
                lines = [l for l in data.decode().splitlines() if not l.startswith(("revision=", "build_time=", "dirty="))]
                data = ("revision=%s\ndirty=false\nbuild_time=%s\n" % (rev, stamp) + "\n".join(lines) + "\n").encode()
            elif item.filename == "application.conf" and append:
                data = data + ("\n" + append + "\n").encode()
            zout.writestr(item, data)
    import os
    os.replace(dst + ".tmp", dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
