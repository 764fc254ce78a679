# shellcheck shell=bash
#
# Shared bash helpers for drover's scripts (bootstrap, stack, up, test).
# Source it; it sets no shell options and runs nothing on its own. Every
# function is prefixed `drv_` and every global `DRV_`, so callers can source
# it without name clashes. It locates the repo from its own path, so the
# callers work from any cwd.
#
#   DRV_REPO_ROOT          the repo (parent of scripts/)
#   drv_cache_dir          ${DROVER_CACHE:-$HOME/.cache/drover}
#   drv_kafka_libs         folder of the fetched broker jars (or fails)
#   drv_rdkafka_prefix     prefix of the cached librdkafka build (or fails)
#   drv_hiredis_prefix     prefix of the cached hiredis build (or fails)
#   drv_pkg_config_path    pkg-config folders of both builds (or fails)
#   drv_apt_source PKG DIR LOG
#                          Debian sid's source package PKG into DIR
#   drv_java               the java binary to use
#   drv_port_busy PORT     true when something listens on tcp PORT
#   drv_pick_free_port     a free loopback port, outside the ephemeral range
#   drv_pid_alive PID      true when PID is a live process (not a zombie)
#   drv_pid_cmdline_has PID STRING...
#                          true when PID's argv contains every STRING
#   drv_apt_install PKG... install the Debian packages that are missing
#                          (apt-get update first, only then); dies on failure
#   drv_console_ready BUILD
#                          dies unless BUILD's coordinator and console and
#                          puppeteer-core are there; sets DRV_CHROMIUM
#   drv_wait_url URL [SECONDS]
#                          true once URL answers 2xx (false after SECONDS)

if [[ -n "${DRV_LIB_LOADED:-}" ]]; then
    return 0
fi
DRV_LIB_LOADED=1

# shellcheck disable=SC2034 # used by the scripts that source this file
DRV_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

# Kafka versions to use, newest first. bootstrap fetches the first one Maven
# Central serves; the stack uses the first one present in the cache.
# DROVER_KAFKA_VERSION forces one (scripts/test runs the integration suite
# once more with 3.9.2, the last 3.x).
DRV_KAFKA_VERSIONS=(4.4.0 4.3.2 4.2.1 4.1.2 4.0.2 3.9.2)

# Name shown in messages; callers may set it before sourcing or after.
DRV_PROG="${DRV_PROG:-$(basename "$0")}"

drv_info() { printf '%s: %s\n' "$DRV_PROG" "$*"; }
drv_warn() { printf '%s: warning: %s\n' "$DRV_PROG" "$*" >&2; }
drv_die() {
    printf '%s: error: %s\n' "$DRV_PROG" "$*" >&2
    exit 1
}

drv_cache_dir() { printf '%s\n' "${DROVER_CACHE:-${HOME:-/root}/.cache/drover}"; }

# drv_kafka_versions: the candidate versions, one a line.
drv_kafka_versions() {
    if [[ -n "${DROVER_KAFKA_VERSION:-}" ]]; then
        printf '%s\n' "$DROVER_KAFKA_VERSION"
    else
        printf '%s\n' "${DRV_KAFKA_VERSIONS[@]}"
    fi
}

# drv_kafka_home VERSION: the cache folder of one version (may not exist).
drv_kafka_home() { printf '%s/kafka-%s\n' "$(drv_cache_dir)" "$1"; }

# drv_kafka_complete VERSION: true when bootstrap finished fetching VERSION.
drv_kafka_complete() {
    local home
    home="$(drv_kafka_home "$1")"
    [[ -f "$home/.complete" && -d "$home/libs" ]]
}

# drv_kafka_installed_version: prints the version the stack will run, or fails.
drv_kafka_installed_version() {
    local v
    while IFS= read -r v; do
        if drv_kafka_complete "$v"; then
            printf '%s\n' "$v"
            return 0
        fi
    done < <(drv_kafka_versions)
    return 1
}

# drv_kafka_libs: prints the jar folder (DROVER_KAFKA_LIBS overrides), or
# exits with a message pointing at scripts/bootstrap.
drv_kafka_libs() {
    local v
    if [[ -n "${DROVER_KAFKA_LIBS:-}" ]]; then
        [[ -d "$DROVER_KAFKA_LIBS" ]] || drv_die "DROVER_KAFKA_LIBS=$DROVER_KAFKA_LIBS is not a folder"
        printf '%s\n' "$DROVER_KAFKA_LIBS"
        return 0
    fi
    if ! v="$(drv_kafka_installed_version)"; then
        drv_die "Kafka jars not found in $(drv_cache_dir) (looked for: $(drv_kafka_versions | paste -sd' ')); run scripts/bootstrap first"
    fi
    printf '%s/libs\n' "$(drv_kafka_home "$v")"
}

# drv_cached_prefix NAME: prints the install prefix of the newest complete
# NAME-<version> build in the cache (scripts/librdkafka, scripts/hiredis make
# them), or fails.
drv_cached_prefix() {
    local d best=""
    for d in "$(drv_cache_dir)/$1"-*; do
        [[ -f "$d/.complete" ]] || continue
        best="$(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n 1)"
    done
    [[ -n "$best" ]] || {
        echo "$1 not built in $(drv_cache_dir); run scripts/bootstrap" >&2
        return 1
    }
    printf '%s\n' "$best"
}

# drv_rdkafka_prefix: prefix of the cached librdkafka build, or fails.
# DROVER_RDKAFKA_PREFIX overrides.
drv_rdkafka_prefix() {
    if [[ -n "${DROVER_RDKAFKA_PREFIX:-}" ]]; then
        printf '%s\n' "$DROVER_RDKAFKA_PREFIX"
        return 0
    fi
    drv_cached_prefix librdkafka
}

# drv_hiredis_prefix: prefix of the cached hiredis build (with SSL), or
# fails. DROVER_HIREDIS_PREFIX overrides.
drv_hiredis_prefix() {
    if [[ -n "${DROVER_HIREDIS_PREFIX:-}" ]]; then
        printf '%s\n' "$DROVER_HIREDIS_PREFIX"
        return 0
    fi
    drv_cached_prefix hiredis
}

# drv_pkg_config_path: the pkg-config folders of the cached builds drover
# links (librdkafka, hiredis), joined with ':', or fails.
drv_pkg_config_path() {
    local rk hr
    rk="$(drv_rdkafka_prefix)" || return 1
    hr="$(drv_hiredis_prefix)" || return 1
    printf '%s/lib/pkgconfig:%s/lib/pkgconfig\n' "$rk" "$hr"
}

# drv_apt_source PKG DIR LOG: downloads Debian's source package PKG (suite
# DROVER_SOURCE_SUITE, default sid, from DROVER_SOURCE_MIRROR) into DIR
# through a private sources list and private apt state in the cache: the
# machine's apt configuration is never touched. Output goes to LOG.
drv_apt_source() {
    local pkg="$1" dir="$2" log="$3" apt_dir
    apt_dir="$(drv_cache_dir)/apt-${DROVER_SOURCE_SUITE:-sid}"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
    printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
        "${DROVER_SOURCE_MIRROR:-http://deb.debian.org/debian}" \
        "${DROVER_SOURCE_SUITE:-sid}" >"$apt_dir/sources.list"
    local apt_private=(
        -o "Dir::Etc::SourceList=$apt_dir/sources.list"
        -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache=$apt_dir"
        -o Debug::NoLocking=1
        -o APT::Sandbox::User=root
    )
    (
        # one apt run at a time on the private state
        exec 6>"$apt_dir/.lock"
        flock -w 900 6 || exit 1
        apt-get "${apt_private[@]}" -q update &&
            cd "$dir" && apt-get "${apt_private[@]}" -q source --download-only "$pkg"
    ) >>"$log" 2>&1
}

drv_java() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        printf '%s\n' "$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        command -v java
    else
        drv_die "java not found; run scripts/bootstrap (installs openjdk-17-jre-headless)"
    fi
}

# drv_port_busy PORT: true when a TCP socket listens on PORT (any address).
drv_port_busy() {
    local port="$1"
    if command -v ss >/dev/null 2>&1; then
        [[ -n "$(ss -Htln "sport = :$port" 2>/dev/null)" ]]
    else
        # Fallback: can we connect to it on loopback?
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

# drv_pick_free_port [EXCLUDED...]: a free port in 20000-32767 (below Linux's
# ephemeral range, so outgoing connections do not grab it), not in EXCLUDED.
drv_pick_free_port() {
    local port tries=0 ex taken
    while ((tries < 200)); do
        tries=$((tries + 1))
        port=$((20000 + (RANDOM % 12768)))
        taken=0
        for ex in "$@"; do
            if [[ "$ex" == "$port" ]]; then taken=1; fi
        done
        ((taken == 0)) || continue
        drv_port_busy "$port" && continue
        printf '%s\n' "$port"
        return 0
    done
    drv_die "could not find a free TCP port"
}

# drv_pid_alive PID: the process exists and is not a zombie.
drv_pid_alive() {
    local pid="${1:-}" state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/stat" ]] || return 1
    # Field 3 of /proc/PID/stat is the state; the comm field may hold spaces,
    # so take what follows the last ')'.
    state="$(sed -e 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# drv_pid_cmdline_has PID STRING...: PID is alive and its NUL-separated argv,
# joined with spaces, contains every STRING.
drv_pid_cmdline_has() {
    local pid="$1" cmd s
    shift
    drv_pid_alive "$pid" || return 1
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    for s in "$@"; do
        [[ "$cmd" == *"$s"* ]] || return 1
    done
}

# drv_read_pidfile FILE: prints the pid in FILE, or nothing.
drv_read_pidfile() {
    local pid=""
    if [[ -f "$1" ]]; then
        read -r pid <"$1" || true
    fi
    [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
    return 0
}

# drv_apt_missing PKG...: the packages not installed, one a line.
drv_apt_missing() {
    # One dpkg-query call for all; unknown packages print nothing on stdout.
    local status_lines pkg
    status_lines="$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)"
    for pkg in "$@"; do
        if ! grep -qx -- "$pkg install ok installed" <<<"$status_lines"; then
            printf '%s\n' "$pkg"
        fi
    done
}

# drv_apt_install PKG...: install those of the Debian packages that are
# missing, with apt-get update first (only when something is missing); as
# root, or through sudo -n. Dies on failure (run it in a subshell to go on).
drv_apt_install() {
    local -a missing sudo=()
    local log
    mapfile -t missing < <(drv_apt_missing "$@")
    if ((${#missing[@]} == 0)); then
        drv_info "apt: all $# packages present"
        return 0
    fi
    drv_info "apt: installing ${missing[*]}"
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 || drv_die "not root and no sudo: install as root: apt-get install ${missing[*]}"
        sudo=(sudo -n)
    fi
    log="$(mktemp "${TMPDIR:-/tmp}/drover-apt.XXXXXX")"
    drv_info "apt: apt-get update"
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        drv_die "apt-get update failed (log: $log)"
    fi
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends -o Dpkg::Options::=--force-confdef \
        -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null >>"$log" 2>&1; then
        tail -n 30 "$log" >&2
        drv_die "apt-get install failed for: ${missing[*]} (log: $log)"
    fi
    rm -f "$log"
    mapfile -t missing < <(drv_apt_missing "$@")
    ((${#missing[@]} == 0)) || drv_die "apt: still missing after install: ${missing[*]}"
    drv_info "apt: done"
}

# drv_console_ready BUILD: what a run of the console in headless Chromium
# needs. Dies unless BUILD has a coordinator and the console built
# (BUILD/console/dist: scripts/build makes it) and console/node_modules has
# puppeteer-core (scripts/build runs npm ci); installs Debian's chromium with
# apt-get when it is missing. Sets DRV_CHROMIUM to the browser (CHROMIUM
# overrides /usr/bin/chromium).
drv_console_ready() {
    local build="$1"
    [[ -x "$build/coordinator/drover-coordinator" ]] ||
        drv_die "$build/coordinator/drover-coordinator not built"
    [[ -f "$build/console/dist/index.html" ]] ||
        drv_die "$build/console/dist not built (scripts/build $build; see its warning)"
    [[ -d "$DRV_REPO_ROOT/console/node_modules/puppeteer-core" ]] ||
        drv_die "console/node_modules has no puppeteer-core (scripts/build runs npm ci)"
    DRV_CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
    if [[ ! -x "$DRV_CHROMIUM" ]]; then
        (drv_apt_install chromium) || drv_die "chromium is missing and apt-get could not install it"
    fi
    [[ -x "$DRV_CHROMIUM" ]] || drv_die "no browser at $DRV_CHROMIUM (CHROMIUM)"
}

# drv_wait_url URL [SECONDS]: true as soon as a GET of URL answers 2xx,
# false when it has not after SECONDS (default 10), tried every 0.1 s.
drv_wait_url() {
    local url="$1" i
    for ((i = 0; i < ${2:-10} * 10; i++)); do
        curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
