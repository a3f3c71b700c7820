# fish completion for flexiai, flexiai-complete, flexiai-breaker and
# flexiai-chat.
#
# Provider names are read from the configuration with
# `flexiai config show` (honouring a -c FILE already on the line).

# The flexiai front command to ask: the one next to the command being
# completed when that was given with a path.
function __flexiai_front
    set -l cmd (commandline -opc)[1]
    set cmd (string replace -r '^~' -- $HOME $cmd)
    if string match -q -- '*/*' $cmd
        set -l dir (string replace -r -- '/[^/]*$' '' $cmd)
        if test -x "$dir/flexiai"
            echo $dir/flexiai
            return
        end
    end
    echo flexiai
end

# The value of the last -c/--config option on the line, if any.
function __flexiai_config_file
    set -l words (commandline -opc)
    set -l file
    set -l i 2
    while test $i -le (count $words)
        switch $words[$i]
            case -c --config
                set i (math $i + 1)
                set file $words[$i]
            case '--config=*'
                set file (string replace -- '--config=' '' $words[$i])
            case '-c?*'
                set file (string sub -s 3 -- $words[$i])
        end
        set i (math $i + 1)
    end
    string replace -r -- '^~' $HOME "$file"
end

# Configured provider names, in failover order.
function __flexiai_providers
    set -l front (__flexiai_front)
    set -l cfg (__flexiai_config_file)
    if test -n "$cfg"
        $front config show -c $cfg 2>/dev/null
    else
        $front config show 2>/dev/null
    end | string replace -rf -- '^provider\.(\S*)\.[a-z_]* = .*' '$1' | awk '!seen[$0]++'
end

# Index of the word that names command $argv[1] ("flexiai CMD" or
# "flexiai-CMD"); fails when the line is not that command.
function __flexiai_base
    set -l words (commandline -opc)
    set -l prog (string replace -r -- '.*/' '' $words[1])
    if test "$prog" = "flexiai-$argv[1]"
        echo 1
    else if test "$prog" = flexiai; and test (count $words) -ge 2; and test "$words[2]" = "$argv[1]"
        echo 2
    else
        return 1
    end
end

function __flexiai_is
    __flexiai_base $argv[1] >/dev/null
end

# `flexiai` with no command yet.
function __flexiai_needs_cmd
    set -l words (commandline -opc)
    test (count $words) -eq 1
    and test (string replace -r -- '.*/' '' $words[1]) = flexiai
end

# The subcommand of "flexiai breaker" / "flexiai config": the first word
# after the command that is not an option or the value of -c.
function __flexiai_sub
    set -l base (__flexiai_base $argv[1]); or return 1
    set -l words (commandline -opc)
    set -l i (math $base + 1)
    while test $i -le (count $words)
        switch $words[$i]
            case -c --config
                set i (math $i + 1)
            case '-*'
            case '*'
                echo $words[$i]
                return 0
        end
        set i (math $i + 1)
    end
    return 1
end

function __flexiai_needs_sub
    __flexiai_is $argv[1]; or return 1
    not __flexiai_sub $argv[1] >/dev/null
end

function __flexiai_sub_is
    set -l sub (__flexiai_sub $argv[1]); or return 1
    test "$sub" = "$argv[2]"
end

# git-style extensions: flexiai-NAME programs on PATH (not containing '.')
function __flexiai_extensions
    complete -C 'flexiai-' | string replace -rf -- '^flexiai-([^.\t]+)(\t.*)?$' '$1' |
        string match -v -r -- '^(complete|chat|breaker)$'
end

# ---- flexiai (the front command) ------------------------------------------
complete -c flexiai -f
complete -c flexiai -n __flexiai_needs_cmd -s h -l help -d 'Print a summary of the commands'
complete -c flexiai -n __flexiai_needs_cmd -s V -l version -d 'Print version and libraries'
complete -c flexiai -n __flexiai_needs_cmd -a complete -d 'One-shot completion: prompt in, answer out'
complete -c flexiai -n __flexiai_needs_cmd -a chat -d 'Interactive chat with streaming replies'
complete -c flexiai -n __flexiai_needs_cmd -a breaker -d 'Inspect, reset, open and watch circuit breakers'
complete -c flexiai -n __flexiai_needs_cmd -a config -d 'Show or check the effective configuration'
complete -c flexiai -n __flexiai_needs_cmd -a help -d 'Print the usage of a command'
complete -c flexiai -n __flexiai_needs_cmd -a '(__flexiai_extensions)' -d 'flexiai extension'
complete -c flexiai -n '__flexiai_is help' -a 'complete chat breaker config' -d Command

# ---- flexiai config ---------------------------------------------------------
complete -c flexiai -n '__flexiai_needs_sub config' -a show -d 'Effective values and their origin'
complete -c flexiai -n '__flexiai_needs_sub config' -a check -d 'Validate; exit 78 on problems'
complete -c flexiai -n '__flexiai_is config' -s c -l config -r -F -d "Configuration file instead of the user's"
complete -c flexiai -n '__flexiai_is config' -s q -l quiet -d 'No warnings'
complete -c flexiai -n '__flexiai_is config' -s h -l help -d 'Print help'
complete -c flexiai -n '__flexiai_is config; and not __flexiai_sub_is config check' -l json -d 'Print a JSON array'

# ---- flexiai complete -------------------------------------------------------
function __flexiai_complete_opts
    set -l c $argv[1]
    set -l n $argv[2]
    complete -c $c -n $n -f
    complete -c $c -n $n -s c -l config -r -F -d "Configuration file instead of the user's"
    complete -c $c -n $n -l messages -r -F -a - -d 'JSON array of {role, content} messages'
    complete -c $c -n $n -s s -l system -x -d 'System prompt'
    complete -c $c -n $n -s m -l model -x -d "Model (for -p's provider, else the first)"
    complete -c $c -n $n -s p -l provider -x -a '(__flexiai_providers)' -d 'Use only this provider'
    complete -c $c -n $n -l no-failover -d 'Only the first usable provider'
    complete -c $c -n $n -s t -l temperature -x -d 'Sampling temperature (0-2)'
    complete -c $c -n $n -l max-tokens -x -d 'Maximum tokens in the answer'
    complete -c $c -n $n -l top-p -x -d 'Nucleus sampling (0-1)'
    complete -c $c -n $n -l stop -x -d 'Stop sequence (repeatable)'
    complete -c $c -n $n -l stream -d 'Stream the answer'
    complete -c $c -n $n -l no-stream -d 'Print the answer when complete'
    complete -c $c -n $n -l on-stream-error -x -a 'continue\t"Next provider continues the answer" fail\t"Stop with exit 75"' -d 'After a stream broke'
    complete -c $c -n $n -l json -d 'Print one JSON object with text, usage, attempts'
    complete -c $c -n $n -l timeout -x -d 'Per-attempt timeout in seconds'
    complete -c $c -n $n -s v -l verbose -d 'One stderr line per attempt'
    complete -c $c -n $n -s q -l quiet -d 'No warnings'
    complete -c $c -n $n -s h -l help -d 'Print help'
    complete -c $c -n $n -s V -l version -d 'Print version and libraries'
end
__flexiai_complete_opts flexiai '__flexiai_is complete'
__flexiai_complete_opts flexiai-complete true
functions -e __flexiai_complete_opts

# ---- flexiai breaker --------------------------------------------------------
function __flexiai_breaker_opts
    set -l c $argv[1]
    set -l top "__flexiai_needs_sub breaker"
    complete -c $c -f -n '__flexiai_is breaker'
    complete -c $c -n $top -s c -l config -r -F -d "Configuration file instead of the user's"
    complete -c $c -n $top -s q -l quiet -d 'No warnings'
    complete -c $c -n $top -s v -l verbose -d 'More notes on stderr'
    complete -c $c -n $top -s h -l help -d 'Print help'
    complete -c $c -n $top -s V -l version -d 'Print version and libraries'
    complete -c $c -n $top -a status -d "State of each provider's breaker"
    complete -c $c -n $top -a reset -d 'Close breakers'
    complete -c $c -n $top -a open -d 'Open a breaker by hand'
    complete -c $c -n $top -a check -d 'Monitoring check with Nagios exit codes'
    complete -c $c -n $top -a watch -d 'Print breaker events as they happen (Redis)'

    complete -c $c -n '__flexiai_sub_is breaker status' -a '(__flexiai_providers)' -d Provider
    complete -c $c -n '__flexiai_sub_is breaker status' -l json -d 'Print a JSON array'
    complete -c $c -n '__flexiai_sub_is breaker status' -l prometheus -d 'Print Prometheus text format'
    complete -c $c -n '__flexiai_sub_is breaker reset' -a '(__flexiai_providers)' -d Provider
    complete -c $c -n '__flexiai_sub_is breaker reset' -l all -d 'Every configured provider'
    complete -c $c -n '__flexiai_sub_is breaker open' -a '(__flexiai_providers)' -d Provider
    complete -c $c -n '__flexiai_sub_is breaker open' -l for -x -d 'Open for DURATION (90, 30s, 10m, 2h)'
    complete -c $c -n '__flexiai_sub_is breaker watch' -a '(__flexiai_providers)' -d Provider
    complete -c $c -n '__flexiai_sub_is breaker watch' -l json -d 'Print each event as received'
    complete -c $c -n '__flexiai_sub breaker >/dev/null' -l help -d 'Print help'
end
__flexiai_breaker_opts flexiai
__flexiai_breaker_opts flexiai-breaker
functions -e __flexiai_breaker_opts

# ---- flexiai chat -----------------------------------------------------------
# >>> flexiai chat options: maintained with cmd/flexiai-chat.c.
function __flexiai_chat_opts
    set -l c $argv[1]
    set -l n $argv[2]
    complete -c $c -n $n -f
    complete -c $c -n $n -s c -l config -r -F -d "Configuration file instead of the user's"
    complete -c $c -n $n -s s -l system -x -d 'System prompt'
    complete -c $c -n $n -s m -l model -x -d "Model (for -p's provider, else the first)"
    complete -c $c -n $n -s p -l provider -x -a '(__flexiai_providers)' -d 'Use only this provider'
    complete -c $c -n $n -l session -x -d 'Keep the conversation as session NAME and resume it'
    complete -c $c -n $n -l load -r -F -d 'Start from a saved conversation (JSON messages)'
    complete -c $c -n $n -s t -l temperature -x -d 'Sampling temperature (0-2)'
    complete -c $c -n $n -l max-tokens -x -d 'Maximum tokens in an answer'
    complete -c $c -n $n -l timeout -x -d 'Per-attempt timeout in seconds'
    complete -c $c -n $n -s v -l verbose -d 'One stderr line per attempt'
    complete -c $c -n $n -s q -l quiet -d 'No warnings or failover notices'
    complete -c $c -n $n -s h -l help -d 'Print help'
    complete -c $c -n $n -s V -l version -d 'Print version and libraries'
end
__flexiai_chat_opts flexiai '__flexiai_is chat'
__flexiai_chat_opts flexiai-chat true
functions -e __flexiai_chat_opts
# <<< end of flexiai chat options
