#!/usr/bin/env bats
# Ingest analysis: Dockerfile discovery, tag enrichment, autofill, README.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'

setup() {
	ingest_setup
}

# ---------------------------------------------------------- discovery

@test "discovery: the given path wins over the root Dockerfile" {
	commit_files "$REPOS/given" Dockerfile 'FROM scratch' deploy/Dockerfile.prod 'FROM nginx'
	ingest_app given "$REPOS/given" --dockerfile deploy/Dockerfile.prod
	assert_equal "$(app_field given dockerfilePath)" deploy/Dockerfile.prod
	assert_equal "$(app_tags given)" 'runtime:nginx(ingestion:dockerfile)'
}

# Issue 12 changed this: a missing given path fell back to the root
# Dockerfile and was overwritten by it.
@test "discovery: a given path that is not there fails naming it, with no fallback" {
	commit_files "$REPOS/fallback" Dockerfile 'FROM nginx' worker/Dockerfile 'FROM scratch' \
		Dockerfile.d/notes 'a directory'
	apphub -q apps add "$REPOS/fallback" --id fallback --dockerfile worker/Dockerfile.prod
	run --separate-stderr -1 apphub ingest fallback --json
	assert_equal "$(jq -r '.data[0].errorMessage' <<<"$output")" \
		"Dockerfile 'worker/Dockerfile.prod' not found in the repository"
	assert_equal "$(app_field fallback status)" failed
	assert_equal "$(app_field fallback dockerfilePath)" worker/Dockerfile.prod
	assert_equal "$(app_tags fallback)" ''
	# a directory of that name is not the file either
	apphub -q apps add "$REPOS/fallback" --id fallback --update --dockerfile Dockerfile.d
	run --separate-stderr -1 apphub ingest fallback
	assert_equal "$stderr" "apphub: cannot ingest 'fallback': Dockerfile 'Dockerfile.d' not found in the repository"
	apphub -q apps add "$REPOS/fallback" --id fallback --update --dockerfile worker/Dockerfile
	apphub -q ingest fallback
	assert_equal "$(app_field fallback dockerfilePath)" worker/Dockerfile
}

@test "discovery: the author's path is kept; what discovery found is found afresh" {
	commit_files "$REPOS/kept" Dockerfile 'FROM nginx' web/Dockerfile 'FROM scratch'
	ingest_app kept "$REPOS/kept" --dockerfile ./web/Dockerfile
	assert_equal "$(app_field kept dockerfilePath)" web/Dockerfile
	# a later update that does not name a path leaves the author's in place
	apphub -q apps add "$REPOS/kept" --id kept --update --name Kept
	git -C "$REPOS/kept" rm -q web/Dockerfile
	git -C "$REPOS/kept" commit -q -m gone
	run -1 apphub -q ingest kept
	assert_equal "$(app_field kept dockerfilePath)" web/Dockerfile
	commit_files "$REPOS/found" deploy/Dockerfile 'FROM scratch'
	ingest_app found "$REPOS/found"
	assert_equal "$(app_field found dockerfilePath)" deploy/Dockerfile
	git -C "$REPOS/found" mv deploy ops
	git -C "$REPOS/found" commit -q -m moved
	apphub -q ingest found
	assert_equal "$(app_field found dockerfilePath)" ops/Dockerfile
}

@test "discovery: breadth-first, shortest path first, case-insensitive, *.dockerfile" {
	commit_files "$REPOS/bfs" a/b/c/Dockerfile 'FROM scratch' zz/DOCKERFILE 'FROM nginx' \
		a/web.dockerfile 'FROM python:3.11'
	ingest_app bfs "$REPOS/bfs"
	# zz/DOCKERFILE (12) is shorter than a/web.dockerfile (16); both depth 1
	assert_equal "$(app_field bfs dockerfilePath)" zz/DOCKERFILE
	commit_files "$REPOS/bfs2" deep/er/Dockerfile 'FROM scratch' x/app.dockerfile 'FROM nginx'
	ingest_app bfs-two "$REPOS/bfs2"
	assert_equal "$(app_field bfs-two dockerfilePath)" x/app.dockerfile
}

@test "discovery: skips .git-like dirs, node_modules and .apphub*; depth at most 6" {
	commit_files "$REPOS/skips" node_modules/x/Dockerfile 'FROM scratch' .apphub-cache/Dockerfile 'FROM scratch' \
		1/2/3/4/5/6/7/Dockerfile 'FROM scratch' README.md 'x'
	run -1 ingest_app skips "$REPOS/skips"
	run -0 apphub apps history skips --json
	assert_equal "$(jq -r '.data[0].message' <<<"$output")" 'Dockerfile not found, unable to launch app'
	commit_files "$REPOS/six" 1/2/3/4/5/6/Dockerfile 'FROM scratch'
	ingest_app six "$REPOS/six"
	assert_equal "$(app_field six dockerfilePath)" 1/2/3/4/5/6/Dockerfile
}

@test "discovery: Dockerfile.<x> is not found by the search, only by name" {
	commit_files "$REPOS/dotted" Dockerfile.dev 'FROM scratch'
	run -1 ingest_app dotted "$REPOS/dotted"
	assert_equal "$(app_field dotted status)" failed
}

# ---------------------------------------------------------- package.json

@test "package.json: each dependency rule" {
	commit_files "$REPOS/pkg" Dockerfile 'FROM scratch' package.json '{
  "name": "pkg-app",
  "dependencies": {"next": "14", "react": "18", "vue": "3"},
  "devDependencies": {"astro": "4", "@remix-run/react": "2", "svelte": "4", "typescript": "5"},
  "engines": {"node": ">=18 <21"}
}'
	ingest_app pkg "$REPOS/pkg"
	assert_equal "$(app_tags pkg)" \
		'framework:astro(ingestion:package) framework:nextjs(ingestion:package) framework:remix(ingestion:package) framework:svelte(ingestion:package) framework:vue(ingestion:package) language:typescript(ingestion:package) library:react(ingestion:package)'
	# engines.node is a range, not the runtime: the final stage decides that (issue 12)
}

@test "package.json: nuxt3, @sveltejs/kit (not \"sveltekit\"), remix, tsconfig.json beside it" {
	commit_files "$REPOS/pkg2" Dockerfile 'FROM scratch' package.json '{"dependencies": {"nuxt3": "1", "sveltekit": "1", "@sveltejs/kit": "2", "remix": "1"}}' \
		tsconfig.json '{}'
	ingest_app pkg-two "$REPOS/pkg2"
	assert_equal "$(app_tags pkg-two)" \
		'framework:nuxt(ingestion:package) framework:remix(ingestion:package) framework:sveltekit(ingestion:package) framework:vue(ingestion:package) language:typescript(ingestion:package)'
}

@test "package.json: nearest to the Dockerfile, walking up; a broken one is passed over" {
	commit_files "$REPOS/walk" web/app/Dockerfile 'FROM scratch' web/package.json '{"dependencies": {"react": "1"}}' \
		package.json '{"dependencies": {"vue": "1"}}' web/app/package.json '{ broken'
	ingest_app walk "$REPOS/walk" --dockerfile web/app/Dockerfile
	assert_equal "$(app_tags walk)" 'language:javascript(ingestion:package) library:react(ingestion:package)'
}

@test "autofill: name from package.json unless scoped, description from the README" {
	commit_files "$REPOS/auto" Dockerfile 'FROM scratch' package.json '{"name": "Nice App"}' \
		README.md $'# Heading\n\nTitle\n=====\n\n  The first real line.  \nsecond line'
	ingest_app auto "$REPOS/auto"
	assert_equal "$(app_field auto name)" 'Nice App'
	assert_equal "$(app_field auto description)" 'The first real line. second line'
	assert_equal "$(app_field auto readme)" "$(cat "$REPOS/auto/README.md")"
	run -0 apphub apps search nice -q
	assert_output auto
	commit_files "$REPOS/scoped" Dockerfile 'FROM scratch' package.json '{"name": "@acme/app"}'
	ingest_app scoped "$REPOS/scoped"
	assert_equal "$(app_field scoped name)" scoped
}

@test "autofill: the description is the README's first prose, as plain text" {
	# README -> description: badges, HTML and code fences are passed over; links
	# keep their text; emphasis and code markers go; snake_case stays.
	local -a cases=(
		$'[![CI](https://ci/b.svg)](https://ci) [![npm](n.svg)](n)\n\nA *fast* and __tiny__ app.'
		'A fast and tiny app.'
		$'<p align="center"><img src="logo.png"></p>\n\nUses `my_config` with [the docs](https://d) and ~~old~~ <https://x.io>.'
		'Uses my_config with the docs and old https://x.io.'
		$'```sh\nnpm start\n```\n> _Quoted_ words\\*'
		'Quoted words*'
		$'# Only\n\n![logo](l.png)'
		''
	)
	local i=0
	while ((i < ${#cases[@]})); do
		commit_files "$REPOS/md$i" Dockerfile 'FROM scratch' README.md "${cases[i]}"
		ingest_app "md$i" "$REPOS/md$i"
		assert_equal "$(app_field "md$i" description)" "${cases[i + 1]}"
		((i += 2))
	done
}

@test "autofill never overrides a name or description the user gave" {
	commit_files "$REPOS/given-meta" Dockerfile 'FROM scratch' package.json '{"name": "pkg-name"}' README.md 'readme line'
	ingest_app given-meta "$REPOS/given-meta" --name 'Mine' --description 'My words'
	assert_equal "$(app_field given-meta name)" Mine
	assert_equal "$(app_field given-meta description)" 'My words'
	assert_equal "$(app_field given-meta readme)" 'readme line'
}

# ---------------------------------------------------------- tag files

@test "tag files: JSON and YAML, all four merged; strings, arrays, objects" {
	commit_files "$REPOS/tagfiles" Dockerfile 'FROM scratch' \
		.apphub/tags.json '{"owner": "alice", "topic": ["a", "b"]}' \
		.apphub/tags.yaml $'team:\n  web: true\n  ops: yes\nlevel: 3' \
		apphub.tags.json '["stage:beta", "owner:bob"]' \
		apphub.tags.yaml 'region: eu'
	ingest_app tagfiles "$REPOS/tagfiles"
	assert_equal "$(app_tags tagfiles)" \
		'level:3(ingestion:tags-file) owner:alice(ingestion:tags-file) owner:bob(ingestion:tags-file) region:eu(ingestion:tags-file) stage:beta(ingestion:tags-file) team:ops(ingestion:tags-file) team:web(ingestion:tags-file) topic:a(ingestion:tags-file) topic:b(ingestion:tags-file)'
}

# ---------------------------------------------------------- Dockerfile

@test "Dockerfile: node:<major> -> runtime:nodeNN; every stage's language, the final stage's runtime" {
	# issue 12: the final stage decides the runtime, node keeps its major version only
	commit_files "$REPOS/node" Dockerfile $'# comment\nARG X=1\nFROM --platform=linux/amd64 node:18-bullseye AS build\nFROM python:3.11'
	ingest_app node "$REPOS/node"
	assert_equal "$(app_tags node)" 'language:javascript(ingestion:dockerfile) language:python(ingestion:dockerfile) runtime:python311(ingestion:dockerfile)'
	commit_files "$REPOS/node2" Dockerfile 'FROM docker.io/library/node:20.11.1-alpine'
	ingest_app node-two "$REPOS/node2"
	assert_equal "$(app_tags node-two)" 'language:javascript(ingestion:dockerfile) runtime:node20(ingestion:dockerfile)'
}

@test "Dockerfile: python[:x.y], nginx, streamlit and uvicorn anywhere" {
	commit_files "$REPOS/py" Dockerfile $'FROM python:3.11-slim\nRUN pip install streamlit\nCMD ["uvicorn", "main:app"]'
	ingest_app pyth "$REPOS/py"
	assert_equal "$(app_tags pyth)" \
		'framework:fastapi(ingestion:dockerfile) framework:streamlit(ingestion:dockerfile) language:python(ingestion:dockerfile) runtime:python311(ingestion:dockerfile)'
	# issue 12: an image without a version is still the runtime
	commit_files "$REPOS/py2" Dockerfile 'FROM python'
	ingest_app py-two "$REPOS/py2"
	assert_equal "$(app_tags py-two)" 'language:python(ingestion:dockerfile) runtime:python(ingestion:dockerfile)'
	commit_files "$REPOS/ngx" Dockerfile 'from nginx:1.25'
	ingest_app ngx "$REPOS/ngx"
	assert_equal "$(app_tags ngx)" 'runtime:nginx(ingestion:dockerfile)'
}

# ---------------------------------------------------------- precedence

@test "dedup: author first, then package.json, tag files, Dockerfile; case-insensitive" {
	commit_files "$REPOS/prec" Dockerfile 'FROM node:18' package.json '{"dependencies": {"react": "1"}}' \
		apphub.tags.json '{"library": "React", "language": "JavaScript", "owner": "Alice"}'
	ingest_app prec "$REPOS/prec" --tag owner:alice
	assert_equal "$(app_tags prec)" \
		'language:JavaScript(ingestion:tags-file) library:react(ingestion:package) owner:alice(author) runtime:node18(ingestion:dockerfile)'
}

@test "re-ingest replaces the derived tags, keeps the author's" {
	commit_files "$REPOS/change" Dockerfile 'FROM nginx'
	ingest_app change "$REPOS/change" --tag keep:me
	commit_files "$REPOS/change" Dockerfile 'FROM python:3.12'
	apphub -q ingest change
	assert_equal "$(app_tags change)" \
		'keep:me(author) language:python(ingestion:dockerfile) runtime:python312(ingestion:dockerfile)'
	run -0 apphub apps search runtime:nginx -q
	assert_output ''
	run -0 apphub apps search runtime:python312 -q
	assert_output change
	run -0 apphub apps tags runtime:
	refute_output --partial nginx
}

@test "--explicit: no enrichment, no autofill; the README is still kept" {
	commit_files "$REPOS/expl" Dockerfile 'FROM node:18' package.json '{"name": "pkg", "dependencies": {"react": "1"}}' \
		apphub.tags.json '{"a": "b"}' README.md 'words'
	ingest_app expl "$REPOS/expl" --explicit --tag only:this
	assert_equal "$(app_tags expl)" 'only:this(author)'
	assert_equal "$(app_field expl name)" expl
	assert_equal "$(app_field expl description)" ''
	assert_equal "$(app_field expl readme)" words
	assert_equal "$(app_field expl status)" ready
}

@test "a symlinked Dockerfile inside the repository is followed" {
	commit_files "$REPOS/linked" docker/real 'FROM nginx'
	ln -s docker/real "$REPOS/linked/Dockerfile"
	commit_files "$REPOS/linked"
	ingest_app linked "$REPOS/linked"
	assert_equal "$(app_tags linked)" 'runtime:nginx(ingestion:dockerfile)'
}

@test "a README that is not UTF-8 is kept with the bad bytes replaced" {
	commit_files "$REPOS/latin" Dockerfile 'FROM scratch'
	printf 'caf\xe9 au lait\n' >"$REPOS/latin/README"
	commit_files "$REPOS/latin"
	ingest_app latin "$REPOS/latin"
	assert_equal "$(app_field latin description)" $'caf\xef\xbf\xbd au lait'
}
