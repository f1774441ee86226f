# fish completion for apphub.  Install as
# ~/.config/fish/completions/apphub.fish (or $(datadir)/fish/vendor_completions.d).
#
# Tag keys and key:value pairs come from `apphub apps tags --limit 50 -- PREFIX`;
# fish adds no space after a completion ending in ':', so `fr<TAB>` gives
# `framework:` and a second TAB the pairs.  App ids come from
# `apphub -q apps ls --limit 1000`.  Job slugs come from `apphub -q jobs ls`,
# the versions after SLUG@ from `apphub -q jobs show SLUG`, run ids from
# `apphub -q jobs runs` (each one a line).  Workflow slugs come from
# `apphub -q workflow ls`, run ids from `apphub -q workflow runs`, a workflow's
# schedule names from `apphub -q workflow schedule SLUG ls` and assets from
# `apphub -q workflow assets`.  Metastore namespaces come from
# `apphub -q metastore ls`, a namespace's keys from
# `apphub -q metastore search NS --limit 200 --projection key`; the fields of
# --sort and --projection are the columns and "metadata." (the metadata's own
# keys would cost a search of every record).  Timestore datasets come from
# `apphub -q timestore ls`, a dataset's columns from the "fields" of
# `apphub --json timestore show DATASET` (column names are
# [A-Za-z_][A-Za-z0-9_]*, so a pattern reads them).  A -C DIR on the command
# line is passed on.

# The words of the command line before the cursor, options and their values
# left out: apphub [command [verb [args...]]]
function __apphub_words
    set -l tokens (commandline -opc)
    set -l out
    set -l skip 0
    for t in $tokens[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case -C --tag --status --sort --limit --offset --weights --id --name --description --dockerfile --since --type --server --listen --workers --threads --timeout --hook-branch --allow-host --cors-origin --request-timeout --max-connections --max-connections-per-ip --cmd --entrypoint --env --workdir --creds --chunk-size --runtime --slug --out --key --input-json --input --param -j --jobs --parameters-json --run-key --cron --timezone --start --end --now --version --metadata-json --metadata-file --set --owner --schema-hash --idempotency-key --expected-version --unset --tags-add --tags-remove --tags-set --audit --filter-json --projection --prefix --from --to --columns --filter --every --agg --time-column --format --schema-json --partition-key --max-age --max-bytes --day
                set skip 1
            case -q
                # metastore search -q QUERY; elsewhere -q is quiet.
                if test (count $out) -ge 2; and test "$out[1]" = metastore; and test "$out[2]" = search
                    set skip 1
                end
            case '-*'
            case '*'
                set -a out $t
        end
    end
    test (count $out) -gt 0; and printf '%s\n' $out
end

# The -C of the command line, as arguments for apphub.
function __apphub_cflag
    set -l tokens (commandline -opc)
    set -l n (count $tokens)
    for i in (seq 2 $n)
        if test "$tokens[$i]" = -C; and test $i -lt $n
            set -l j (math $i + 1)
            printf '%s\n' -C $tokens[$j]
            return
        end
    end
end

function __apphub_run
    set -l bin (commandline -opc)[1]
    if not string match -q '*/*' -- $bin; or not test -x "$bin"
        set bin apphub
    end
    command $bin (__apphub_cflag) $argv 2>/dev/null </dev/null
end

function __apphub_commands
    set -l cmds (__apphub_run --list-cmds)
    test (count $cmds) -gt 0; or set cmds apps events help
    printf '%s\n' $cmds
end

function __apphub_tags
    __apphub_run apps tags --limit 50 -- (commandline -ct)
end

function __apphub_ids
    __apphub_run -q apps ls --limit 1000
end

# Job slugs, or after SLUG@ the versions of SLUG as SLUG@VERSION; with
# "version", SLUG@ (fish adds no space after it: the version follows).
function __apphub_job_refs
    set -l cur (commandline -ct)
    if string match -q '*@*' -- $cur
        set -l slug (string split -m 1 @ -- $cur)[1]
        for v in (__apphub_run -q jobs show $slug)
            printf '%s@%s\n' $slug $v
        end
    else if test "$argv[1]" = version
        for s in (__apphub_run -q jobs ls)
            printf '%s@\n' $s
        end
    else
        __apphub_run -q jobs ls
    end
end

function __apphub_job_runs
    __apphub_run -q jobs runs
end

function __apphub_workflows
    __apphub_run -q workflow ls
end

function __apphub_workflow_runs
    __apphub_run -q workflow runs
end

# The schedules of the workflow of `workflow schedule SLUG ...`.
function __apphub_workflow_schedules
    set -l w (__apphub_words)
    test (count $w) -ge 3; and __apphub_run -q workflow schedule $w[3] ls
end

# IANA time zones under $TZDIR (many are symbolic links), and UTC.
function __apphub_timezones
    echo UTC
    set -l dir /usr/share/zoneinfo
    set -q TZDIR; and set dir $TZDIR
    test -d $dir; or return 0
    for z in (cd $dir; and find . -maxdepth 3 \( -type f -o -type l \) ! -path './posix/*' ! -path './right/*' ! -name '*.*' 2>/dev/null)
        set z (string replace -r '^\./' '' -- $z)
        string match -qr '^[A-Z]' -- $z; and test $z != UTC; and echo $z
    end
end

# __apphub_wf_schedule VERB...: `workflow schedule SLUG VERB`, VERB one of
# VERB... ("ls" also when no verb is given yet).
function __apphub_wf_schedule
    set -l w (__apphub_words)
    test (count $w) -ge 3; and test "$w[1]" = workflow; and test "$w[2]" = schedule; or return 1
    if test (count $w) -eq 3
        contains -- ls $argv
        return
    end
    contains -- $w[4] $argv
end

# __apphub_at N [WORD...]: N words given so far (command, verb, args), the
# first ones equal to WORD... when given.
function __apphub_at
    set -l w (__apphub_words)
    test (count $w) -eq $argv[1]; or return 1
    set -l i 1
    for want in $argv[2..-1]
        if test "$want" != '*'; and test "$w[$i]" != "$want"
            return 1
        end
        set i (math $i + 1)
    end
end

# __apphub_in CMD [VERB...]: the command is CMD (and the verb one of VERB...).
function __apphub_in
    set -l w (__apphub_words)
    test (count $w) -ge 1; and test "$w[1]" = $argv[1]; or return 1
    test (count $argv) -eq 1; and return 0
    test (count $w) -ge 2; and contains -- $w[2] $argv[2..-1]
end

complete -c apphub -f

# Global options.
complete -c apphub -n '__apphub_at 0' -s C -r -a '(__fish_complete_directories)' -d 'State directory'
complete -c apphub -n '__apphub_at 0' -l version -d 'Print the version'
complete -c apphub -n '__apphub_at 0' -l server -x -d 'Run against a remote apphub serve'
complete -c apphub -l json -d 'JSON output'
complete -c apphub -s q -d 'Quiet output'
complete -c apphub -s h -l help -d 'Show usage'

# Commands.
complete -c apphub -n '__apphub_at 0' -a '(__apphub_commands)'
complete -c apphub -n '__apphub_at 1 help' -a '(__apphub_commands)'

# apps verbs.
complete -c apphub -n '__apphub_at 1 apps' -a ls -d 'List apps (default)'
complete -c apphub -n '__apphub_at 1 apps' -a add -d 'Register a repository'
complete -c apphub -n '__apphub_at 1 apps' -a import -d 'Register apps from JSON lines'
complete -c apphub -n '__apphub_at 1 apps' -a show -d 'Show one app'
complete -c apphub -n '__apphub_at 1 apps' -a history -d 'Show the ingestion history'
complete -c apphub -n '__apphub_at 1 apps' -a retry -d 'Queue for ingestion again'
complete -c apphub -n '__apphub_at 1 apps' -a rm -d 'Remove an app'
complete -c apphub -n '__apphub_at 1 apps' -a search -d 'Search apps'
complete -c apphub -n '__apphub_at 1 apps' -a tags -d 'Suggest tag keys and pairs'
complete -c apphub -n '__apphub_at 1 apps' -a tag -d 'Add or remove tags'

# apps ls / search.
set -l __apphub_search '__apphub_at 1 apps; or __apphub_in apps ls search'
complete -c apphub -n $__apphub_search -l tag -x -a '(__apphub_tags)' -d 'Tag filter'
complete -c apphub -n $__apphub_search -l status -x -a 'pending processing ready failed' -d 'Status filter'
complete -c apphub -n $__apphub_search -l sort -x -a 'relevance updated name' -d 'Sort order'
complete -c apphub -n $__apphub_search -l limit -x -d 'Results (1-1000)'
complete -c apphub -n $__apphub_search -l offset -x -d 'Results to skip'
complete -c apphub -n $__apphub_search -l weights -x -a 'name:4,description:1.5,tags:2' -d 'Relevance weights'
complete -c apphub -n '__apphub_in apps ls search' -a '(__apphub_tags)'

# apps tags.
complete -c apphub -n '__apphub_in apps tags' -l limit -x -d 'Suggestions (1-50)'
complete -c apphub -n '__apphub_at 2 apps tags' -a '(__apphub_tags)'

# apps add.
complete -c apphub -n '__apphub_in apps add' -l id -x -d 'App id'
complete -c apphub -n '__apphub_in apps add' -l name -x -d 'Display name'
complete -c apphub -n '__apphub_in apps add' -l description -x -d 'Description'
complete -c apphub -n '__apphub_in apps add' -l dockerfile -r -F -d 'Dockerfile path'
complete -c apphub -n '__apphub_in apps add' -l tag -x -a '(__apphub_tags)' -d 'Author tag key:value'
complete -c apphub -n '__apphub_in apps add' -l explicit -d 'No derived tags'
complete -c apphub -n '__apphub_in apps add' -l update -d 'Replace an existing app'
complete -c apphub -n '__apphub_at 2 apps add' -a '(__fish_complete_directories)'

# apps import.
complete -c apphub -n '__apphub_in apps import' -l update -d 'Replace existing apps'
complete -c apphub -n '__apphub_at 2 apps import' -F

# apps show / rm / tag.
complete -c apphub -n '__apphub_at 2 apps show; or __apphub_at 2 apps rm; or __apphub_at 2 apps tag' -a '(__apphub_ids)'
complete -c apphub -n '__apphub_at 2 apps history; or __apphub_at 2 apps retry' -a '(__apphub_ids)'
complete -c apphub -n '__apphub_in apps history' -l limit -x -d 'Number of events (1-1000)'

# image.
complete -c apphub -n '__apphub_at 1 image' -a ls -d 'List images'
complete -c apphub -n '__apphub_at 1 image' -a inspect -d 'Show an image and its config'
complete -c apphub -n '__apphub_at 1 image' -a rm -d 'Remove images'
complete -c apphub -n '__apphub_at 1 image' -a import -d 'Import a rootfs tarball, docker save output or OCI layout'
complete -c apphub -n '__apphub_at 1 image' -a export -d 'Write an OCI archive'
complete -c apphub -n '__apphub_at 1 image' -a unpack -d 'Write the root file system into a directory'
complete -c apphub -n '__apphub_at 1 image' -a pull -d 'Pull from a registry'
complete -c apphub -n '__apphub_at 1 image' -a push -d 'Push to a registry'
complete -c apphub -n '__apphub_at 1 image' -a build -d 'Build an image from a Dockerfile'
complete -c apphub -n '__apphub_at 2 image inspect; or __apphub_in image rm; or __apphub_at 2 image export; or __apphub_at 2 image unpack; or __apphub_at 2 image push' -a '(apphub (__apphub_cflag) -q image ls 2>/dev/null)'
complete -c apphub -n '__apphub_at 2 image import; or __apphub_at 3 image export' -F
complete -c apphub -n '__apphub_at 3 image unpack' -a '(__fish_complete_directories)'
complete -c apphub -n '__apphub_in image import' -l cmd -x -d 'Image Cmd'
complete -c apphub -n '__apphub_in image import' -l entrypoint -x -d 'Image Entrypoint (JSON)'
complete -c apphub -n '__apphub_in image import' -l env -x -d 'Image Env k=v'
complete -c apphub -n '__apphub_in image import' -l workdir -x -d 'Image WorkingDir'
complete -c apphub -n '__apphub_in image pull' -l name -x -d 'Store under this name'
complete -c apphub -n '__apphub_in image pull build' -l platform -x -a 'linux/amd64 linux/arm64' -d 'Platform os/arch'
complete -c apphub -n '__apphub_in image pull push' -l creds -x -d 'Registry user:pass'
complete -c apphub -n '__apphub_in image pull push' -l insecure -d 'Use http://'
complete -c apphub -n '__apphub_in image push' -l chunk-size -x -d 'Chunked upload size'
complete -c apphub -n '__apphub_in image build' -s f -l file -r -F -d 'The Dockerfile'
complete -c apphub -n '__apphub_in image build' -s t -l tag -x -d 'The name:tag the image gets'
complete -c apphub -n '__apphub_in image build' -l build-arg -x -d 'A build argument k=v'
complete -c apphub -n '__apphub_in image build' -l target -x -d 'Build this stage'
complete -c apphub -n '__apphub_in image build' -l network -x -a 'none host' -d 'RUN network'
complete -c apphub -n '__apphub_in image build' -l engine -x -a 'native podman docker' -d 'Build engine'
complete -c apphub -n '__apphub_in image build' -l no-cache -d 'Reuse no cached layer'
complete -c apphub -n '__apphub_in image build' -l timeout -x -d 'Limit on each RUN'
complete -c apphub -n '__apphub_at 2 image build' -a '(__fish_complete_directories)'

# build.
complete -c apphub -n '__apphub_at 1 build' -a ls -d 'List the builds of an app'
complete -c apphub -n '__apphub_at 1 build' -a show -d 'Show a build record'
complete -c apphub -n '__apphub_at 1 build' -a logs -d 'Print the log of a build'
complete -c apphub -n '__apphub_at 1 build' -a retry -d 'Queue a failed build again'
complete -c apphub -n '__apphub_at 1 build' -a '(__apphub_ids)'
complete -c apphub -n '__apphub_at 2 build ls' -a '(__apphub_ids)'
complete -c apphub -n '__apphub_in build' -s j -l jobs -x -d 'Apps at once (default 2)'
complete -c apphub -n '__apphub_in build' -l watch -d 'Keep waiting for new items'
complete -c apphub -n '__apphub_in build' -l ref -x -d 'Branch, tag or commit to build'
complete -c apphub -n '__apphub_in build' -l engine -x -a 'native podman docker' -d 'Build engine'
complete -c apphub -n '__apphub_in build' -l check -r -F -d 'Parse a Dockerfile and report'
complete -c apphub -n '__apphub_in build logs' -s f -l follow -d 'Follow while the build runs'

# launch.
complete -c apphub -n '__apphub_at 1 launch' -a start -d 'Launch an app (the default)'
complete -c apphub -n '__apphub_at 1 launch' -a ls -d 'List launches'
complete -c apphub -n '__apphub_at 1 launch' -a show -d 'Show a launch'
complete -c apphub -n '__apphub_at 1 launch' -a logs -d 'Print what a launch wrote'
complete -c apphub -n '__apphub_at 1 launch' -a stop -d 'Stop a launch'
complete -c apphub -n '__apphub_at 1 launch' -a '(__apphub_ids)'
complete -c apphub -n '__apphub_at 2 launch start' -a '(__apphub_ids)'
complete -c apphub -n '__apphub_at 2 launch ls' -a '(__apphub_ids)'
complete -c apphub -n '__apphub_in launch' -l build -x -d 'Launch this build'
complete -c apphub -n '__apphub_in launch' -l image -x -d 'Launch this image of the store'
complete -c apphub -n '__apphub_in launch' -s e -l env -x -d 'An environment variable k=v'
complete -c apphub -n '__apphub_in launch' -l command -x -d 'A shell command instead of the image\'s'
complete -c apphub -n '__apphub_in launch' -l port -x -d 'The app\'s port'
complete -c apphub -n '__apphub_in launch' -l profile -x -a 'small standard large' -d 'Resource profile'
complete -c apphub -n '__apphub_in launch' -l memory -x -d 'Memory limit (1G)'
complete -c apphub -n '__apphub_in launch' -l cpus -x -d 'CPU share (0.5, 2)'
complete -c apphub -n '__apphub_in launch' -l cpu-time -x -d 'CPU time limit'
complete -c apphub -n '__apphub_in launch' -l pids -x -d 'Process limit'
complete -c apphub -n '__apphub_in launch' -l nofile -x -d 'Open file limit'
complete -c apphub -n '__apphub_in launch' -l disk -x -d 'Writable space over the image'
complete -c apphub -n '__apphub_in launch' -l ttl -x -d 'Stop after this long'
complete -c apphub -n '__apphub_in launch' -l network -x -a 'loopback none' -d 'Network'
complete -c apphub -n '__apphub_in launch' -l engine -x -a 'native podman docker' -d 'Engine'
complete -c apphub -n '__apphub_in launch' -l user -x -d 'Run the app as this user[:group] of the image'
complete -c apphub -n '__apphub_in launch' -l no-wait -d 'Return before the app answers'
complete -c apphub -n '__apphub_in launch ls' -l status -x -a 'pending starting running stopping stopped failed' -d 'Only this status'
complete -c apphub -n '__apphub_in launch logs' -s f -l follow -d 'Follow while it runs'

# ingest.
complete -c apphub -n '__apphub_in ingest' -s j -l jobs -x -d 'Apps at once (default 2)'
complete -c apphub -n '__apphub_in ingest' -l watch -d 'Keep waiting for new items'
complete -c apphub -n '__apphub_in ingest' -l repo -x -d 'Ingest the apps of this repository'
complete -c apphub -n '__apphub_in ingest' -a '(__apphub_ids)'
complete -c apphub -n '__apphub_at 3 apps tag' -a 'add rm'
complete -c apphub -n '__apphub_in apps tag; and not __apphub_at 2; and not __apphub_at 3' -a '(__apphub_tags)'

# gc.
complete -c apphub -n '__apphub_in gc' -s n -l dry-run -d 'Only list what would be removed'

# events.
complete -c apphub -n '__apphub_in events' -l since -x -d 'Events after this id'
complete -c apphub -n '__apphub_in events' -l type -x -a 'app.\* app.registered app.updated app.removed app.tagged' -d 'Event type glob'
complete -c apphub -n '__apphub_in events' -l limit -x -d 'Number of events'
complete -c apphub -n '__apphub_in events' -l follow -d 'Keep printing new events'

# serve.
complete -c apphub -n '__apphub_in serve' -l listen -x -d 'Address and port to listen on'
complete -c apphub -n '__apphub_in serve' -l workers -x -d 'Ingestion workers'
complete -c apphub -n '__apphub_in serve' -l threads -x -d 'Request threads'
complete -c apphub -n '__apphub_in serve' -l timeout -x -d 'Idle connection timeout (seconds)'
complete -c apphub -n '__apphub_in serve' -l hook-branch -x -d 'Branch that /hooks/git follows'
complete -c apphub -n '__apphub_in serve' -l allow-host -x -d 'Host name serve answers to'
complete -c apphub -n '__apphub_in serve' -l cors-origin -x -d 'Origin whose pages may call the API'
complete -c apphub -n '__apphub_in serve' -l request-timeout -x -d 'Time for a whole request to arrive (seconds)'
complete -c apphub -n '__apphub_in serve' -l max-connections -x -d 'Connections at once'
complete -c apphub -n '__apphub_in serve' -l max-connections-per-ip -x -d 'Connections at once from one address'

# jobs.
complete -c apphub -n '__apphub_at 1 jobs' -a ls -d 'List jobs (default)'
complete -c apphub -n '__apphub_at 1 jobs' -a init -d 'Scaffold a bundle directory'
complete -c apphub -n '__apphub_at 1 jobs' -a package -d 'Write a reproducible, signed bundle archive'
complete -c apphub -n '__apphub_at 1 jobs' -a keygen -d 'Make an Ed25519 signing key pair'
complete -c apphub -n '__apphub_at 1 jobs' -a trust -d 'Accept bundles signed by a public key'
complete -c apphub -n '__apphub_at 1 jobs' -a test -d 'Run a bundle directory\'s handler'
complete -c apphub -n '__apphub_at 1 jobs' -a publish -d 'Publish a bundle directory or archive'
complete -c apphub -n '__apphub_at 1 jobs' -a show -d 'Show a job, a version or a run'
complete -c apphub -n '__apphub_at 1 jobs' -a rm -d 'Remove a published version'
complete -c apphub -n '__apphub_at 1 jobs' -a run -d 'Run a job'
complete -c apphub -n '__apphub_at 1 jobs' -a runs -d 'List runs'
complete -c apphub -n '__apphub_at 1 jobs' -a logs -d 'Print the log of a run'
complete -c apphub -n '__apphub_at 1 jobs' -a cancel -d 'Cancel a run'
complete -c apphub -n '__apphub_at 1 jobs' -a work -d 'Work through the queue of runs'
complete -c apphub -n '__apphub_in jobs init' -l runtime -x -a 'node python exec' -d 'The handler\'s runtime'
complete -c apphub -n '__apphub_in jobs init' -l slug -x -d 'The job\'s slug'
complete -c apphub -n '__apphub_at 2 jobs init; or __apphub_at 2 jobs package; or __apphub_at 2 jobs test' -a '(__fish_complete_directories)'
complete -c apphub -n '__apphub_in jobs package' -l force -d 'Replace an existing archive'
complete -c apphub -n '__apphub_in jobs package' -l out -x -a '(__fish_complete_directories)' -d 'Write into this directory'
complete -c apphub -n '__apphub_in jobs package publish' -l key -r -F -d 'Sign with this private key'
complete -c apphub -n '__apphub_in jobs keygen' -l out -r -F -d 'The private key file'
complete -c apphub -n '__apphub_in jobs keygen' -l force -d 'Replace an existing key'
complete -c apphub -n '__apphub_in jobs trust' -l name -x -d 'The signer\'s name'
complete -c apphub -n '__apphub_at 2 jobs trust; or __apphub_at 2 jobs publish' -F
complete -c apphub -n '__apphub_in jobs test run' -l input-json -x -d 'The parameters as JSON'
complete -c apphub -n '__apphub_in jobs test' -l input -r -F -d 'The parameters from a file'
complete -c apphub -n '__apphub_at 2 jobs show; or __apphub_at 2 jobs run; or __apphub_at 2 jobs runs' -a '(__apphub_job_refs)'
complete -c apphub -n '__apphub_at 2 jobs rm' -a '(__apphub_job_refs version)'
complete -c apphub -n '__apphub_at 2 jobs show; or __apphub_at 2 jobs logs; or __apphub_at 2 jobs cancel' -a '(__apphub_job_runs)'
complete -c apphub -n '__apphub_in jobs run' -l param -x -d 'A parameter k=v'
complete -c apphub -n '__apphub_in jobs run' -l detach -d 'Queue the run and return'
complete -c apphub -n '__apphub_in jobs run' -l timeout -x -d 'End the run after this long'
complete -c apphub -n '__apphub_in jobs runs' -l status -x -a 'pending running succeeded failed canceled timeout' -d 'Only this status'
complete -c apphub -n '__apphub_in jobs runs' -l limit -x -d 'At most n runs'
complete -c apphub -n '__apphub_in jobs logs' -s f -l follow -d 'Follow while it runs'
complete -c apphub -n '__apphub_in jobs work' -s j -l jobs -x -d 'Runs at once (default 2)'
complete -c apphub -n '__apphub_in jobs work' -l watch -d 'Keep waiting for new runs'

# workflow.
complete -c apphub -n '__apphub_at 1 workflow' -a ls -d 'List workflows (default)'
complete -c apphub -n '__apphub_at 1 workflow' -a add -d 'Add or update a workflow from JSON or YAML'
complete -c apphub -n '__apphub_at 1 workflow' -a show -d 'Show a workflow and its graph, or a run'
complete -c apphub -n '__apphub_at 1 workflow' -a rm -d 'Remove a workflow'
complete -c apphub -n '__apphub_at 1 workflow' -a run -d 'Run a workflow'
complete -c apphub -n '__apphub_at 1 workflow' -a runs -d 'List runs'
complete -c apphub -n '__apphub_at 1 workflow' -a cancel -d 'Cancel a run'
complete -c apphub -n '__apphub_at 1 workflow' -a schedule -d 'List, add, pause, resume and remove schedules'
complete -c apphub -n '__apphub_at 1 workflow' -a tick -d 'One scheduler tick'
complete -c apphub -n '__apphub_at 1 workflow' -a assets -d 'List assets and whether they are fresh'
complete -c apphub -n '__apphub_at 1 workflow' -a work -d 'Drive queued runs'
complete -c apphub -n '__apphub_at 2 workflow add' -F
complete -c apphub -n '__apphub_at 2 workflow show; or __apphub_at 2 workflow rm; or __apphub_at 2 workflow run; or __apphub_at 2 workflow runs; or __apphub_at 2 workflow schedule' -a '(__apphub_workflows)'
complete -c apphub -n '__apphub_at 2 workflow show; or __apphub_at 2 workflow cancel' -a '(__apphub_workflow_runs)'
complete -c apphub -n '__apphub_at 2 workflow assets' -a '(__apphub_run -q workflow assets)'
complete -c apphub -n '__apphub_in workflow show' -l version -x -d 'This version of the definition'
complete -c apphub -n '__apphub_in workflow show' -l dot -d 'The graph in Graphviz\'s dot language'
complete -c apphub -n '__apphub_in workflow run; or __apphub_wf_schedule add' -l param -x -d 'A parameter k=v'
complete -c apphub -n '__apphub_in workflow run; or __apphub_wf_schedule add' -l parameters-json -x -d 'The parameters as JSON'
complete -c apphub -n '__apphub_in workflow run' -l run-key -x -d 'One active run for this key'
complete -c apphub -n '__apphub_in workflow run' -l detach -d 'Queue the run and return'
complete -c apphub -n '__apphub_in workflow run' -l follow -d 'Show live progress'
complete -c apphub -n '__apphub_in workflow runs' -l status -x -a 'pending running succeeded failed canceled' -d 'Only this status'
complete -c apphub -n '__apphub_in workflow runs' -l limit -x -d 'At most n runs'
complete -c apphub -n '__apphub_in workflow tick; or __apphub_wf_schedule ls' -l now -x -d 'At this time (RFC 3339)'
complete -c apphub -n '__apphub_in workflow work' -s j -l jobs -x -d 'Runs at once (default 2)'
complete -c apphub -n '__apphub_in workflow work' -l watch -d 'Keep waiting for new runs'
complete -c apphub -n '__apphub_at 3 workflow schedule' -a ls -d 'List the schedules (default)'
complete -c apphub -n '__apphub_at 3 workflow schedule' -a add -d 'Add a schedule'
complete -c apphub -n '__apphub_at 3 workflow schedule' -a pause -d 'Pause a schedule'
complete -c apphub -n '__apphub_at 3 workflow schedule' -a resume -d 'Resume a schedule'
complete -c apphub -n '__apphub_at 3 workflow schedule' -a rm -d 'Remove a schedule'
complete -c apphub -n '__apphub_at 4 workflow schedule \* pause; or __apphub_at 4 workflow schedule \* resume; or __apphub_at 4 workflow schedule \* rm' -a '(__apphub_workflow_schedules)'
complete -c apphub -n '__apphub_wf_schedule add' -l cron -x -a '@hourly @daily @midnight @weekly @monthly @yearly @annually' -d 'Cron expression or macro'
complete -c apphub -n '__apphub_wf_schedule add' -l timezone -x -a '(__apphub_timezones)' -d 'IANA time zone'
complete -c apphub -n '__apphub_wf_schedule add' -l start -x -d 'No window before this time (RFC 3339)'
complete -c apphub -n '__apphub_wf_schedule add' -l end -x -d 'No window after this time (RFC 3339)'
complete -c apphub -n '__apphub_wf_schedule add' -l catch-up -d 'A run for each missed window'

# metastore.
function __apphub_ms_namespaces
    __apphub_run -q metastore ls
end

# The keys of the namespace of `metastore VERB NS ...`.
function __apphub_ms_keys
    set -l w (__apphub_words)
    test (count $w) -ge 3; and __apphub_run -q metastore search $w[3] --limit 200 --projection key
end

function __apphub_ms_fields
    printf '%s\n' key owner schemaHash version createdAt updatedAt deletedAt tags metadata.
end

# --sort FIELD[:asc|desc]
function __apphub_ms_sort
    set -l cur (commandline -ct)
    if string match -q '*:*' -- $cur
        set -l f (string split -m 1 : -- $cur)[1]
        printf '%s\n' $f:asc $f:desc
    else
        __apphub_ms_fields
    end
end

# --projection F,...: the field after the last comma.
function __apphub_ms_projection
    set -l cur (commandline -ct)
    set -l pre ''
    string match -q '*,*' -- $cur; and set pre (string replace -r '[^,]*$' '' -- $cur)
    for f in (__apphub_ms_fields)
        echo $pre$f
    end
end

complete -c apphub -n '__apphub_at 1 metastore' -a get -d 'Print a record, or one of its versions'
complete -c apphub -n '__apphub_at 1 metastore' -a create -d 'Make a record'
complete -c apphub -n '__apphub_at 1 metastore' -a put -d 'Make or replace a record'
complete -c apphub -n '__apphub_at 1 metastore' -a patch -d 'Change part of a record'
complete -c apphub -n '__apphub_at 1 metastore' -a rm -d 'Delete a record softly'
complete -c apphub -n '__apphub_at 1 metastore' -a purge -d 'Delete a record and its history for good'
complete -c apphub -n '__apphub_at 1 metastore' -a restore -d 'Bring back a version of a record'
complete -c apphub -n '__apphub_at 1 metastore' -a search -d 'Search a namespace'
complete -c apphub -n '__apphub_at 1 metastore' -a bulk -d 'Up to 100 writes at once, from a JSON file'
complete -c apphub -n '__apphub_at 1 metastore' -a audit -d 'The history of a record'
complete -c apphub -n '__apphub_at 1 metastore' -a ls -d 'List the namespaces'
complete -c apphub -n '__apphub_at 1 metastore' -a index -d 'List, make or remove the indexes of a namespace'
complete -c apphub -n '__apphub_at 1 metastore' -a watch -d 'Print the changes as they happen'
set -l __apphub_ms_ns '__apphub_at 2 metastore get; or __apphub_at 2 metastore create; or __apphub_at 2 metastore put; or __apphub_at 2 metastore patch; or __apphub_at 2 metastore rm; or __apphub_at 2 metastore purge; or __apphub_at 2 metastore restore; or __apphub_at 2 metastore search; or __apphub_at 2 metastore audit; or __apphub_at 2 metastore index; or __apphub_at 2 metastore watch'
complete -c apphub -n $__apphub_ms_ns -a '(__apphub_ms_namespaces)'
set -l __apphub_ms_key '__apphub_at 3 metastore get; or __apphub_at 3 metastore patch; or __apphub_at 3 metastore rm; or __apphub_at 3 metastore purge; or __apphub_at 3 metastore restore; or __apphub_at 3 metastore audit; or __apphub_at 3 metastore watch'
complete -c apphub -n $__apphub_ms_key -a '(__apphub_ms_keys)'
complete -c apphub -n '__apphub_at 2 metastore bulk' -F
complete -c apphub -n '__apphub_in metastore get restore' -l version -x -d 'This version'
complete -c apphub -n '__apphub_in metastore create put patch' -l metadata-json -x -d 'The metadata as JSON'
complete -c apphub -n '__apphub_in metastore create put' -l metadata-file -r -F -d 'The metadata from a file'
complete -c apphub -n '__apphub_in metastore create put patch' -l set -x -d 'Set a metadata path=value'
complete -c apphub -n '__apphub_in metastore create put' -l tag -x -d 'A tag'
complete -c apphub -n '__apphub_in metastore create put patch' -l owner -x -d 'The owner'
complete -c apphub -n '__apphub_in metastore create put' -l schema-hash -x -d 'The schema the metadata follows'
complete -c apphub -n '__apphub_in metastore create put' -l idempotency-key -x -d 'A key that makes the write safe to send again'
complete -c apphub -n '__apphub_in metastore put patch rm' -l expected-version -x -d 'Write only over this version'
complete -c apphub -n '__apphub_in metastore patch' -l unset -x -d 'Remove a metadata path'
complete -c apphub -n '__apphub_in metastore patch' -l tags-add -x -d 'Add a tag'
complete -c apphub -n '__apphub_in metastore patch' -l tags-remove -x -d 'Remove a tag'
complete -c apphub -n '__apphub_in metastore patch' -l tags-set -x -d 'Replace the tags (tag,...)'
complete -c apphub -n '__apphub_in metastore restore' -l audit -x -d 'The record of this audit entry'
complete -c apphub -n '__apphub_in metastore search' -s q -x -d 'The query: field op value ...'
complete -c apphub -n '__apphub_in metastore search' -l filter-json -x -d 'A filter tree as JSON'
complete -c apphub -n '__apphub_in metastore search' -l sort -x -a '(__apphub_ms_sort)' -d 'Sort by this field'
complete -c apphub -n '__apphub_in metastore search audit' -l limit -x -d 'At most n'
complete -c apphub -n '__apphub_in metastore search audit' -l offset -x -d 'Skip n'
complete -c apphub -n '__apphub_in metastore search' -l include-deleted -d 'Soft-deleted records too'
complete -c apphub -n '__apphub_in metastore search' -l projection -x -a '(__apphub_ms_projection)' -d 'Keep only these fields'
complete -c apphub -n '__apphub_in metastore search' -l explain -d 'Say which index the query uses'
complete -c apphub -n '__apphub_in metastore index' -l drop -d 'Remove the index'
complete -c apphub -n '__apphub_in metastore watch' -l prefix -x -d 'The keys that start with this'
complete -c apphub -n '__apphub_in metastore watch' -l since -x -d 'The changes after this revision first'

# timestore.
function __apphub_ts_datasets
    __apphub_run -q timestore ls
end

# The columns of the dataset of `timestore VERB DATASET ...`.
function __apphub_ts_column_names
    set -l w (__apphub_words)
    test (count $w) -ge 3; or return 0
    set -l json (__apphub_run --json timestore show $w[3] | string collect)
    # The first "fields" is the current schema's (schemaVersions come after).
    set -l fields (string match -r '"fields"\s*:\s*\[([^\]]*)\]' -- $json)[2]
    test -n "$fields"; or return 0
    string match -r -a -g '"name"\s*:\s*"([A-Za-z_][A-Za-z0-9_]*)"' -- $fields
end

# --columns A,B: the column after the last comma.
function __apphub_ts_column_list
    set -l cur (commandline -ct)
    set -l pre ''
    string match -q '*,*' -- $cur; and set pre (string replace -r '[^,]*$' '' -- $cur)
    for c in (__apphub_ts_column_names)
        echo $pre$c
    end
end

# --agg FN:COLUMN: the function and ':' (no space), then its column; count
# alone counts rows.
function __apphub_ts_agg
    set -l cur (commandline -ct)
    if string match -q '*:*' -- $cur
        set -l f (string split -m 1 : -- $cur)[1]
        for c in (__apphub_ts_column_names)
            echo $f:$c
        end
    else
        printf '%s:\n' avg min max sum median count count_distinct p50 p90 p95 p99
        echo count
    end
end

complete -c apphub -n '__apphub_at 1 timestore' -a ls -d 'List the datasets (default)'
complete -c apphub -n '__apphub_at 1 timestore' -a show -d 'A dataset: schema history, manifests, partitions'
complete -c apphub -n '__apphub_at 1 timestore' -a ingest -d 'Write rows as new partitions'
complete -c apphub -n '__apphub_at 1 timestore' -a query -d 'Rows in a time range, raw or downsampled'
complete -c apphub -n '__apphub_at 1 timestore' -a partitions -d 'List the live partitions of a dataset'
complete -c apphub -n '__apphub_at 1 timestore' -a retention -d 'Show, set or apply a dataset\'s retention'
complete -c apphub -n '__apphub_at 1 timestore' -a compact -d 'Merge each day\'s small partitions into one'
complete -c apphub -n '__apphub_at 1 timestore' -a sql -d 'A read-only DuckDB query over the datasets'
complete -c apphub -n '__apphub_at 1 timestore' -a rm -d 'Remove a dataset and its files'
complete -c apphub -n '__apphub_at 2 timestore show; or __apphub_at 2 timestore ingest; or __apphub_at 2 timestore query; or __apphub_at 2 timestore partitions; or __apphub_at 2 timestore retention; or __apphub_at 2 timestore compact; or __apphub_at 2 timestore rm' -a '(__apphub_ts_datasets)'
complete -c apphub -n '__apphub_at 3 timestore ingest' -F
complete -c apphub -n '__apphub_in timestore' -l quiet -d 'Quiet output'
complete -c apphub -n '__apphub_in timestore ingest' -l format -x -a 'json ndjson csv' -d 'The input\'s format'
complete -c apphub -n '__apphub_in timestore ingest' -l schema-json -x -d 'The schema as JSON'
complete -c apphub -n '__apphub_in timestore ingest' -l partition-key -x -d 'The partitions\' key'
complete -c apphub -n '__apphub_in timestore ingest' -l idempotency-key -x -d 'A key that makes the ingest safe to send again'
complete -c apphub -n '__apphub_in timestore query partitions' -l from -x -d 'The range\'s start (RFC 3339 or unix ms)'
complete -c apphub -n '__apphub_in timestore query partitions' -l to -x -d 'The range\'s end, excluded'
complete -c apphub -n '__apphub_in timestore query' -l columns -x -a '(__apphub_ts_column_list)' -d 'The columns'
complete -c apphub -n '__apphub_in timestore query' -l filter -x -a '(__apphub_ts_column_names)' -d 'A condition: column op value'
complete -c apphub -n '__apphub_in timestore query' -l every -x -a '1m 5m 15m 1h 1d 1w 1mo' -d 'Downsample: one row an interval'
complete -c apphub -n '__apphub_in timestore query' -l agg -x -a '(__apphub_ts_agg)' -d 'An aggregation of each interval'
complete -c apphub -n '__apphub_in timestore query' -l time-column -x -a '(__apphub_ts_column_names)' -d 'The time column'
complete -c apphub -n '__apphub_in timestore query sql' -l limit -x -d 'At most n rows'
complete -c apphub -n '__apphub_in timestore query sql' -l format -x -a 'table csv json' -d 'The output'
complete -c apphub -n '__apphub_in timestore query' -l explain -d 'Say which partitions would be read, and the SQL'
complete -c apphub -n '__apphub_in timestore retention' -l max-age -x -d 'Remove partitions that ended longer ago'
complete -c apphub -n '__apphub_in timestore retention' -l max-bytes -x -a none -d 'Then the oldest until the dataset fits'
complete -c apphub -n '__apphub_in timestore retention' -l apply -d 'Remove them now'
complete -c apphub -n '__apphub_in timestore compact' -l day -x -d 'Only that UTC day (yyyy-mm-dd)'
