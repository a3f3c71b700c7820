# fish completion for flexiai, flexiai-complete, flexiai-breaker,
# flexiai-chat and flexiai-batch.
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

# Model ids from the lists `flexiai models` cached, a day old at most.
function __flexiai_models
    set -l dir $XDG_CACHE_HOME
    string match -q '/*' -- "$dir"; or set dir $HOME/.cache
    find $dir/flexiai/models -maxdepth 1 -type f ! -name '*.tmp.*' -mtime -1 -exec cat '{}' + 2>/dev/null | awk '!seen[$0]++'
end

# Saved templates and fragments, by name.
function __flexiai_saved
    set -l dir $XDG_CONFIG_HOME
    string match -q '/*' -- "$dir"; or set dir $HOME/.config
    for f in $dir/flexiai/$argv[1]/*
        test -f $f; or continue
        set -l n (basename $f)
        if test $argv[1] = templates
            string match -q '*.ini' -- $n; and string replace -r '\.ini$' '' -- $n
        else
            string replace -r '\.(txt|md)$' '' -- $n
        end
    end
end

# Configured provider names, in failover order.
function __flexiai_providers
    set -l file (__flexiai_config_file)
    set -l front (__flexiai_front)
    if test -n "$file"
        $front config show -c $file 2>/dev/null
    else
        $front config show 2>/dev/null
    end | string match -r -g '^provider\.([^ ]*)\.[a-z_]* = ' | awk '!seen[$0]++'
end

# Configured [tool.NAME] and [mcp.NAME] names (what --tools takes).
function __flexiai_tools
    set -l file (__flexiai_config_file)
    set -l front (__flexiai_front)
    if test -n "$file"
        $front config show -c $file 2>/dev/null
    else
        $front config show 2>/dev/null
    end | string match -r -g '^(?:tool|mcp)\.([^ ]*)\.[a-z_]* = ' | awk '!seen[$0]++'
end

# The command of the line being completed: "complete" for both
# `flexiai complete ...` and `flexiai-complete ...`; "" before one is given.
function __flexiai_cmd
    set -l words (commandline -opc)
    set -l first (string replace -r '^.*/' '' -- $words[1])
    if string match -q -- 'flexiai-*' $first
        string replace -- 'flexiai-' '' $first
        return
    end
    for w in $words[2..-1]
        if not string match -q -- '-*' $w
            echo $w
            return
        end
    end
end

# The subcommand on the line ("-" when none yet): the first word after the
# command that names one of SUBS.
function __flexiai_sub
    set -l words (commandline -opc)
    set -l cmd (__flexiai_cmd)
    set -l seen 0
    string match -q -- 'flexiai-*' (string replace -r '^.*/' '' -- $words[1]); and set seen 1
    for w in $words[2..-1]
        if test $seen = 0
            test "$w" = "$cmd"; and set seen 1
            continue
        end
        if contains -- $w $argv
            echo $w
            return
        end
    end
    echo -
end

# __flexiai_in CMD WHERE SUBS...: the line is in CMD, at WHERE ("-": no
# subcommand given yet).
function __flexiai_in
    test "$(__flexiai_cmd)" = "$argv[1]"; or return 1
    test "$(__flexiai_sub $argv[3..-1])" = "$argv[2]"
end

# Everything else comes from the commands' own option tables
# (`flexiai --completion-helper [CMD]`), so a new option needs no change here.
complete -c flexiai -f
complete -c flexiai -n 'test -z "$(__flexiai_cmd)"' -a help -d 'print the usage of a command'
for __fx_line in (flexiai --completion-helper 2>/dev/null)
    set -l f (string split \t -- $__fx_line)
    switch $f[1]
        case cmd
            complete -c flexiai -n 'test -z "$(__flexiai_cmd)"' -a $f[2] -d $f[3]
        case opt
            complete -c flexiai -n 'test -z "$(__flexiai_cmd)"' -s (string sub -s 2 -- $f[3]) -l (string sub -s 3 -- $f[4]) -d $f[6]
    end
    set -l cmd $f[2]
    test $f[1] = cmd; or continue
    set -l data (flexiai --completion-helper $cmd 2>/dev/null)
    set -l subs
    for l in $data
        set -l g (string split \t -- $l)
        test $g[1] = sub; and set subs $subs $g[2]
    end
    for c in flexiai flexiai-$cmd
        complete -c $c -f
        for l in $data
            set -l g (string split \t -- $l)
            set -l cond "__flexiai_in $cmd $g[2] $subs"
            if test $g[1] = sub
                complete -c $c -n "__flexiai_in $cmd - $subs" -a $g[2] -d $g[4]
                test $g[3] = provider; and complete -c $c -n "__flexiai_in $cmd $g[2] $subs" -a '(__flexiai_providers)'
                test $g[3] = tool; and complete -c $c -n "__flexiai_in $cmd $g[2] $subs" -a '(__flexiai_tools)'
                test $g[3] = template; and complete -c $c -n "__flexiai_in $cmd $g[2] $subs" -a '(__flexiai_saved templates)'
                continue
            end
            set -l spec -l (string sub -s 3 -- $g[4]) -d $g[6]
            test -n "$g[3]"; and set spec $spec -s (string sub -s 2 -- $g[3])
            switch $g[5]
                case flag
                case file file-
                    set spec $spec -r -F
                case provider
                    set spec $spec -x -a '(__flexiai_providers)'
                case model
                    set spec $spec -x -a '(__flexiai_models)'
                case tool
                    set spec $spec -x -a '(__flexiai_tools)'
                case template
                    set spec $spec -x -a '(__flexiai_saved templates)'
                case fragment
                    set spec $spec -r -F -a '(__flexiai_saved fragments)'
                case 'choice:*'
                    set spec $spec -x -a (string replace -a '|' ' ' -- (string replace 'choice:' '' -- $g[5]))
                case '*'
                    set spec $spec -x
            end
            complete -c $c -n $cond $spec
        end
    end
end
set -e __fx_line
