# bash completion for vnuma(1) and vnumad(8).
# Commands and options are asked from the binary being completed ('vnuma help', 'vnuma help
# COMMAND', 'vnumad --help'), so they stay true as commands are added.  Domain names are the
# records in the state dir (--state-dir on the line, else $VNUMA_STATE_DIR, else /run/vnuma).

# The commands of the vnuma binary $1: the first word of each line after "Commands:".
_vnuma_commands()
{
    "$1" help 2>/dev/null | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'
}

# The options in the synopsis of command $2 of the vnuma binary $1.
_vnuma_options()
{
    "$1" help "$2" 2>/dev/null | sed -n '1p' | grep -oE -- '(^|[[ |])--?[a-z][a-z-]*' |
        grep -oE -- '--?[a-z][a-z-]*'
}

# Domain names: STATE_DIR/domains/NAME.json, hidden files (records being written) skipped.
_vnuma_domains()
{
    local dir=${1:-${VNUMA_STATE_DIR:-/run/vnuma}} f
    for f in "$dir"/domains/*.json; do
        [[ -f $f ]] || continue
        f=${f##*/}
        [[ $f == .* ]] || printf '%s\n' "${f%.json}"
    done
}

_vnuma_files()
{ # _vnuma_files [dirs|EXT...]: file names (ending in one of EXTs) and dirs
    compopt -o filenames 2>/dev/null
    if [[ ${1-} == dirs ]]; then
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return
    fi
    local ext
    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    if (($# == 0)); then
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")
    fi
    for ext; do
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -X "!*.$ext" -- "$cur")
    done
}

_vnuma()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local prog=${COMP_WORDS[0]} cmd="" state_dir="" i w
    local -a args=()
    COMPREPLY=()
    # The command, --state-dir and the positional arguments typed before the cursor.
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        --state-dir) state_dir=${COMP_WORDS[i + 1]}; ((i++)) ;;
        --host | --algo | --accel | --load | --format | --vnode | --to | --rate | --pause-ms | \
            --soft | --hard | --seeds | --out | --config | --duration | --timeout) ((i++)) ;;
        -*) ;;
        *) if [[ -z $cmd ]]; then cmd=$w; else args+=("$w"); fi ;;
        esac
    done
    if [[ -z $cmd ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_vnuma_commands "$prog") --help --version" -- "$cur")
        return
    fi
    case $prev in
    --state-dir | --out) _vnuma_files dirs; return ;;
    --host) _vnuma_files json xml; return ;;
    --load) _vnuma_files; return ;;
    --algo) mapfile -t COMPREPLY < <(compgen -W "vnuma xen exact" -- "$cur"); return ;;
    --accel) mapfile -t COMPREPLY < <(compgen -W "auto kvm tcg" -- "$cur"); return ;;
    --format)
        mapfile -t COMPREPLY < <(compgen -W "text json qemu libvirt xl" -- "$cur")
        return
        ;;
    --vnode | --to | --rate | --pause-ms | --soft | --hard | --seeds | --config | --duration | \
        --timeout) return ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_vnuma_options "$prog" "$cmd") --help" -- "$cur")
        return
    fi
    case $cmd in
    check | place | create) _vnuma_files cfg ;;
    sim) _vnuma_files ;;
    help) mapfile -t COMPREPLY < <(compgen -W "$(_vnuma_commands "$prog")" -- "$cur") ;;
    info | console | vnc | destroy | shutdown | reboot | pause | unpause | mem-move | \
        vcpu-affinity | vcpu-pin | migrate)
        ((${#args[@]} == 0)) &&
            mapfile -t COMPREPLY < <(compgen -W "$(_vnuma_domains "$state_dir")" -- "$cur")
        ;;
    balance)
        case ${#args[@]} in
        0)
            mapfile -t COMPREPLY < <(compgen -W "status pause resume once metrics \
                $(_vnuma_domains "$state_dir")" -- "$cur")
            ;;
        1)
            case ${args[0]} in
            status | pause | resume)
                mapfile -t COMPREPLY < <(compgen -W "$(_vnuma_domains "$state_dir")" -- "$cur")
                ;;
            once | metrics) ;;
            *) mapfile -t COMPREPLY < <(compgen -W "on off" -- "$cur") ;;
            esac
            ;;
        esac
        ;;
    esac
}
complete -F _vnuma vnuma

_vnumad()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    case $prev in
    --state-dir) _vnuma_files dirs; return ;;
    --log) _vnuma_files; return ;;
    --host) _vnuma_files json xml; return ;;
    --interval | --metrics-port | --confirm | --replace-after | --dwell | --vm-rate) return ;;
    esac
    local opts
    opts=$("${COMP_WORDS[0]}" --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]*' | sort -u)
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
}
complete -F _vnumad vnumad
