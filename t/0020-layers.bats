#!/usr/bin/env bats
# The layering of lib/ and cmd/, read from the object files: a module uses
# only its own layer and those before it, no cycle inside a layer, and cmd/
# reaches lib/ through the operations (t/helper/check-layers.sh says how).

bats_require_minimum_version 1.5.0
load test_helper/common

@test "lib/ and cmd/ keep their layers, without cycles" {
	run sh "$BATS_TEST_DIRNAME/helper/check-layers.sh" "$BATS_TEST_DIRNAME/.."
	assert_success
	assert_output ''
}

@test "the layer check names a use that goes up a layer, and a cycle" {
	# A copy of the built tree with three probes in the util layer: one
	# uses the apps records, two use each other.
	local src=$BATS_TEST_DIRNAME/.. tree=$BATS_TEST_TMPDIR/tree
	mkdir -p "$tree/t"
	cp -a "$src/Makefile" "$src/apphub.o" "$src/lib" "$src/cmd" "$src/gen" "$tree/"
	cp -a "$src/t/helper" "$tree/t/"
	printf 'int ah_app_lookup(void);\nint probe_up(void) { return ah_app_lookup(); }\n' \
		>"$tree/lib/probe-up.c"
	printf 'int probe_b(void);\nint probe_a(void) { return probe_b(); }\n' >"$tree/lib/probe-a.c"
	printf 'int probe_a(void);\nint probe_b(void) { return probe_a(); }\n' >"$tree/lib/probe-b.c"
	for p in up a b; do
		cc -c -o "$tree/lib/probe-$p.o" "$tree/lib/probe-$p.c"
		sed -i "s|^UTIL_OBJS += lib/usage.o\$|&\nUTIL_OBJS += lib/probe-$p.o|" "$tree/Makefile"
	done
	echo 'int probe_lost(void) { return 0; }' >"$tree/lib/probe-lost.c"
	run -1 sh "$tree/t/helper/check-layers.sh" "$tree"
	assert_line 'lib/probe-up.o (layer UTIL) uses lib/apps.o (ah_app_lookup, layer RECORD, after it)'
	assert_line --partial 'lib/probe-a.o and lib/probe-b.o are in a cycle of their layer'
	assert_line 'lib/probe-lost.c: in no layer of the Makefile'
}
