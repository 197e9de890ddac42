//! Compile tests of `#[fezz_function]` (trybuild): what compiles, and the exact compiler output
//! for each misuse. The toolchain is pinned in `rust-toolchain.toml`, so the committed
//! `.stderr` files are stable; after a deliberate change of a message, regenerate them with
//! `TRYBUILD=overwrite cargo test -p fezz-macros --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();

    t.pass("tests/ui/pass/basic.rs");
    t.pass("tests/ui/pass/result.rs");
    t.pass("tests/ui/pass/qualified_paths.rs");
    t.pass("tests/ui/pass/in_module.rs");

    t.compile_fail("tests/ui/fail/attribute_arguments.rs");
    t.compile_fail("tests/ui/fail/not_a_function.rs");
    t.compile_fail("tests/ui/fail/async_fn.rs");
    t.compile_fail("tests/ui/fail/unsafe_fn.rs");
    t.compile_fail("tests/ui/fail/extern_fn.rs");
    t.compile_fail("tests/ui/fail/generic.rs");
    t.compile_fail("tests/ui/fail/where_clause.rs");
    t.compile_fail("tests/ui/fail/self_receiver.rs");
    t.compile_fail("tests/ui/fail/no_arguments.rs");
    t.compile_fail("tests/ui/fail/two_arguments.rs");
    t.compile_fail("tests/ui/fail/reference_argument.rs");
    t.compile_fail("tests/ui/fail/wrong_argument_type.rs");
    t.compile_fail("tests/ui/fail/no_return_type.rs");
    t.compile_fail("tests/ui/fail/wrong_return_type.rs");
    t.compile_fail("tests/ui/fail/wrong_error_type.rs");
    t.compile_fail("tests/ui/fail/several_mistakes.rs");
    t.compile_fail("tests/ui/fail/used_twice.rs");
}
