#!/usr/bin/env bash
# Components include only what src/CMakeLists.txt declares, and the declared graph has no cycle
# (CMake links a cycle of static libraries without complaint, so nothing else would notice).
#   lint-component-deps.sh GRAPH [ROOT]   GRAPH: build/component_graph.txt; ROOT: the repository
#   lint-component-deps.sh --self-test    checks that a violation and a cycle are caught
# GRAPH has one line per component, name|public deps|private deps (cmake/components.cmake).
# Fails on: a component folder not declared; a header including a component not PUBLIC; a
# source including a component not declared; a declared dependency nothing includes (the graph
# states exactly what is used); a PUBLIC dependency no header includes; a cycle.
set -euo pipefail

lint() {
    local graph=$1 root=$2 failed=0
    declare -A public private
    local name pub priv
    while IFS='|' read -r name pub priv; do
        [[ -n $name ]] || continue
        public[$name]=" $pub "
        private[$name]=" $priv "
    done <"$graph"

    # included_components DIR: the other components that files under DIR include, one a line.
    included_components() {
        [[ -d $1 ]] || return 0
        grep -rhoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]llmgw/[a-z_]+/' "$1" |
            sed -E 's#.*llmgw/([a-z_]+)/$#\1#' | sort -u
    }

    local dir c d
    for dir in "$root"/include/llmgw/*/ "$root"/src/*/; do
        c=$(basename "$dir")
        if [[ -z ${public[$c]+x} ]]; then
            echo "lint: component '$c' ($dir) is not declared with llmgw_component()" >&2
            failed=1
        fi
    done

    for c in "${!public[@]}"; do
        local from_headers from_sources
        from_headers=$(included_components "$root/include/llmgw/$c" | grep -vx "$c" || true)
        from_sources=$(included_components "$root/src/$c" | grep -vx "$c" || true)
        for d in $from_headers; do
            if [[ ${public[$c]} != *" $d "* ]]; then
                echo "lint: include/llmgw/$c/ includes llmgw/$d/ but '$c' does not declare PUBLIC $d" >&2
                failed=1
            fi
        done
        for d in $from_sources; do
            if [[ ${public[$c]}${private[$c]} != *" $d "* ]]; then
                echo "lint: src/$c/ includes llmgw/$d/ but '$c' does not declare $d" >&2
                failed=1
            fi
        done
        for d in ${public[$c]}; do
            if ! grep -qx "$d" <<<"$from_headers"; then
                echo "lint: '$c' declares PUBLIC $d but no header in include/llmgw/$c/ includes it" >&2
                failed=1
            fi
        done
        for d in ${private[$c]}; do
            if ! grep -qx "$d" <<<"$from_sources"; then
                echo "lint: '$c' declares PRIVATE $d but no source in src/$c/ includes it" >&2
                failed=1
            fi
        done
    done

    # tsort prints the loop's members on stderr and fails when the edges have a cycle.
    local edges cycle
    edges=$(for c in "${!public[@]}"; do
        echo "$c $c"
        for d in ${public[$c]} ${private[$c]}; do echo "$c $d"; done
    done)
    if ! cycle=$(tsort <<<"$edges" 2>&1 >/dev/null); then
        echo "lint: the declared component graph has a cycle:" >&2
        echo "$cycle" >&2
        failed=1
    fi

    if [[ $failed -ne 0 ]]; then
        echo "lint: component dependencies are declared in src/CMakeLists.txt" >&2
        return 1
    fi
    echo "lint: ${#public[@]} components include only their declared dependencies; no cycle"
}

# A tree where a includes b: passes as declared, fails undeclared, fails with b -> a added.
self_test() {
    local tmp
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    mkdir -p "$tmp"/include/llmgw/{a,b} "$tmp"/src/{a,b}
    echo '#include "llmgw/b/b.hpp"' >"$tmp/include/llmgw/a/a.hpp"
    echo '// b' >"$tmp/include/llmgw/b/b.hpp"
    echo '#include "llmgw/a/a.hpp"' >"$tmp/src/a/a.cpp"
    printf 'a|b|\nb||\n' >"$tmp/good"
    printf 'a||b\nb||\n' >"$tmp/private_in_header"
    printf 'a||\nb||\n' >"$tmp/undeclared"
    printf 'a|b|\nb||a\n' >"$tmp/cycle"
    printf 'a|b|\n' >"$tmp/missing_component"
    lint "$tmp/good" "$tmp" >/dev/null || { echo "self-test: a correct graph failed" >&2; return 1; }
    local bad expected
    for bad in private_in_header:'not declare PUBLIC b' undeclared:'not declare PUBLIC b' \
        cycle:'has a cycle' missing_component:"'b' (.*) is not declared"; do
        expected=${bad#*:}
        bad=${bad%%:*}
        if lint "$tmp/$bad" "$tmp" >/dev/null 2>"$tmp/errors" ||
            ! grep -qE "$expected" "$tmp/errors"; then
            echo "self-test: '$bad' was not caught as: $expected" >&2
            return 1
        fi
    done
    echo "self-test: violations and cycles are caught"
}

if [[ ${1:-} == --self-test ]]; then
    self_test
else
    [[ $# -ge 1 ]] || { echo "usage: $0 GRAPH [ROOT] | --self-test" >&2; exit 2; }
    lint "$1" "${2:-$(cd "$(dirname "$0")/.." && pwd)}"
fi
