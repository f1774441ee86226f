#!/usr/bin/env bats
# serve: a launch's env holds secrets. Over HTTP (and so `apphub --server`)
# its values are shown only to a caller with the scope that writes launches
# (apps:write); others see the names with "***". The CLI on the state
# directory itself sees them.

bats_require_minimum_version 1.5.0
load test_helper/launch
load test_helper/serve

setup_file() {
	launch_setup_file
}

setup() {
	launch_setup
	unset APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN
	export APPHUB_TOKENS='[{"token":"writer-secret-1","subject":"ci","scopes":["apps:write"]},
		{"token":"reader-secret-1","subject":"bob","scopes":[]}]'
	run -0 apphub --json launch web --image test/shell --id secret --no-wait \
		--env DB_PASSWORD=hunter2-secret --env MODE=demo --command 'sleep 60'
}

extra_teardown() {
	launch_teardown
}

@test "secrets: a launch's env values only for the scope that writes launches" {
	start_serve --workers 0
	local h
	for h in X-None:1 'Authorization: Bearer reader-secret-1'; do
		r=$(http GET /launches/secret -H "$h")
		assert_equal "$(status_of "$r")" 200
		assert_equal "$(body_of "$r" | jq -c .env)" '{"DB_PASSWORD":"***","MODE":"***"}'
		[[ $r != *hunter2* ]]
		r=$(http GET /launches -H "$h")
		assert_equal "$(body_of "$r" | jq -c '.data[] | select(.id == "secret") | .env')" \
			'{"DB_PASSWORD":"***","MODE":"***"}'
		r=$(http GET /apps/web/launches -H "$h")
		[[ $r != *hunter2* ]]
	done
	r=$(http GET /launches/secret -H 'Authorization: Bearer writer-secret-1')
	assert_equal "$(body_of "$r" | jq -c .env)" '{"DB_PASSWORD":"hunter2-secret","MODE":"demo"}'
	# apphub --server: as its token allows.
	run -0 apphub --server "$SERVE_URL" --json launch show secret
	assert_equal "$(jq -r .env.DB_PASSWORD <<<"$output")" '***'
	APPHUB_TOKEN=writer-secret-1 run -0 apphub --server "$SERVE_URL" --json launch show secret
	assert_equal "$(jq -r .env.DB_PASSWORD <<<"$output")" hunter2-secret
	# The CLI on the state directory itself.
	run -0 apphub --json launch show secret
	assert_equal "$(jq -r .env.DB_PASSWORD <<<"$output")" hunter2-secret
}
