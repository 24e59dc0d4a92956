#!/usr/bin/env python3
"""Self-tests of the TCB gate (scripts/tcb.py): the counter on small literal
inputs, the cargo tree parser, and the budget failure on the real tree.

    python3 scripts/test_tcb.py
"""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tcb  # noqa: E402


def count(src, features=()):
    return tcb.count_lines_text(textwrap.dedent(src), set(features))


class Comments(unittest.TestCase):
    def test_blank_and_comment_lines_do_not_count(self):
        self.assertEqual(count("""
            //! crate doc

            /// item doc
            fn a() {} // trailing
            /* block */
            /** doc block */
        """), 1)

    def test_comment_markers_inside_strings_are_code(self):
        self.assertEqual(count("""
            const URL: &str = "http://example/*not a comment";
            const END: &str = "*/ still a string // too";
            fn f() {}
        """), 3)

    def test_nested_block_comment(self):
        self.assertEqual(count("""
            /* outer /* inner */
               still outer */
            fn f() {}
        """), 1)

    def test_raw_strings_with_hashes_and_quotes(self):
        self.assertEqual(count('''
            const A: &str = r#"a "quoted" /* x */ // y"#;
            const B: &[u8] = br##"line one
            "# not the end
            end"##;
            // comment after
        '''), 4)

    def test_char_literals_and_lifetimes(self):
        self.assertEqual(count("""
            fn f<'a>(s: &'a str) -> char { '"' }
            fn g() -> char { '/' }
            // after
        """), 2)


class CfgGating(unittest.TestCase):
    def test_cfg_test_inline_module_is_excluded(self):
        self.assertEqual(count("""
            fn f() {}
            #[cfg(test)]
            mod tests {
                #[test]
                fn t() { assert!(true); }
            }
            fn g() {}
        """), 2)

    def test_cfg_test_items_and_use(self):
        self.assertEqual(count("""
            #[cfg(test)]
            use std::vec::Vec;
            #[cfg(test)]
            #[derive(Debug)]
            struct OnlyInTests {
                a: u8,
            }
            #[cfg(not(test))]
            fn production() {}
        """), 2)

    def test_feature_gated_item_counts_only_when_enabled(self):
        src = """
            #[cfg(feature = "mock")]
            pub mod mock {
                pub fn m() {}
            }
            #[cfg(any(test, feature = "std"))]
            fn host_only() {}
            pub fn always() {}
        """
        self.assertEqual(count(src), 1)
        self.assertEqual(count(src, ["mock"]), 5)
        self.assertEqual(count(src, ["std"]), 3)  # the true cfg line is code

    def test_target_cfg_is_the_guest(self):
        self.assertEqual(count("""
            #[cfg(target_arch = "x86_64")]
            fn on_guest() {}
            #[cfg(not(target_arch = "x86_64"))]
            fn elsewhere() {}
        """), 2)

    def test_cfg_on_fields_and_statements(self):
        self.assertEqual(count("""
            struct S {
                #[cfg(test)]
                probe: u8,
                kept: u8,
            }
            fn f() {
                #[cfg(test)]
                let x = 1;
                #[cfg(test)]
                {
                    check();
                }
                run();
            }
        """), 6)

    def test_fn_pointer_field_is_one_field(self):
        # `fn` in a field's type does not make the field an item with a body.
        self.assertEqual(count("""
            struct S {
                #[cfg(test)]
                hook: fn(u8),
                kept: u8,
                also: u8,
            }
        """), 4)

    def test_inner_cfg_excludes_the_whole_file(self):
        self.assertEqual(count("""
            //! Host only.
            #![cfg(test)]
            fn f() {}
        """), 0)


class CfgStatementExtent(unittest.TestCase):
    """A false cfg skips exactly its target; the live code after it counts.

    Each source marks the gated lines `// off`: the counted lines must be
    exactly the code lines without the mark, and with the feature on, all.
    """

    def check(self, src):
        src = textwrap.dedent(src)
        lines = src.split("\n")
        off = {n for n, line in enumerate(lines, 1) if line.rstrip().endswith("// off")}
        code = {n for n, line in enumerate(lines, 1) if line.strip() and not line.strip().startswith("//")}
        self.assertTrue(off and off < code)
        fc, _, _ = tcb.count_source(src, set(), set())
        got = {n + 1 for n in fc.lines}
        self.assertEqual(sorted(got), sorted(code - off),
                         "\n" + "\n".join(f"{'+' if n in got else ' '} {n:3} {lines[n - 1]}" for n in sorted(code)))
        fc, _, _ = tcb.count_source(src, {"x"}, set())
        self.assertEqual(sorted(n + 1 for n in fc.lines), sorted(code))

    def test_cfg_if_with_else_chain(self):
        self.check("""
            fn f(a: bool, b: bool) -> u8 {
                #[cfg(feature = "x")] // off
                if a { // off
                    probe(); // off
                } else if b { // off
                    other(); // off
                } else { // off
                    third(); // off
                } // off
                if b {
                    return 1;
                }
                live();
                0
            }
        """)

    def test_cfg_if_let_and_while_let_with_braced_patterns(self):
        self.check("""
            fn f(c: &mut C) -> u8 {
                #[cfg(feature = "x")] // off
                if let Phase::Quitting { since } = c.phase { // off
                    return since; // off
                } // off
                #[cfg(feature = "x")] // off
                while let Some(S { a, b }) = c.next() { // off
                    c.push(a, b); // off
                } // off
                #[cfg(feature = "x")] // off
                for P { x, .. } in c.points() { // off
                    c.touch(x); // off
                } // off
                if c.open {
                    c.close();
                }
                0
            }
        """)

    def test_cfg_match_loop_unsafe_and_labelled_block(self):
        self.check("""
            fn f(x: u8) {
                #[cfg(feature = "x")] // off
                match x { // off
                    0 => a(), // off
                    _ => {} // off
                } // off
                #[cfg(feature = "x")] // off
                loop { // off
                    break; // off
                } // off
                #[cfg(feature = "x")] // off
                unsafe { // off
                    poke(); // off
                } // off
                #[cfg(feature = "x")] // off
                'outer: for i in 0..x { // off
                    continue 'outer; // off
                } // off
                match x {
                    _ => live(),
                }
            }
        """)

    def test_cfg_block_and_let(self):
        self.check("""
            fn f() -> u32 {
                #[cfg(feature = "x")] // off
                { // off
                    check(); // off
                } // off
                #[cfg(feature = "x")] // off
                let probe = |a, b| { // off
                    a + b // off
                }; // off
                #[cfg(feature = "x")] // off
                let Some(v) = get() else { // off
                    return 0; // off
                }; // off
                if ready() {
                    go();
                }
                1
            }
        """)

    def test_cfg_struct_literal_fields(self):
        self.check("""
            fn f() -> S {
                S {
                    #[cfg(feature = "x")] // off
                    log: Log { level: 1, on: true }, // off
                    kept: 1,
                    #[cfg(feature = "x")] // off
                    hook, // off
                    more: T {
                        a: 1,
                    },
                    #[cfg(feature = "x")] // off
                    last: if a { 1 } else { 2 } // off
                }
            }
        """)

    def test_cfg_fields_named_like_keywords(self):
        self.check("""
            struct S {
                #[cfg(feature = "x")] // off
                union: u8, // off
                #[cfg(feature = "x")] // off
                default: u8, // off
                kept: u8,
            }
            fn f() -> S {
                S {
                    #[cfg(feature = "x")] // off
                    safe: true, // off
                    kept: 1,
                }
            }
        """)

    def test_cfg_match_arms(self):
        self.check("""
            fn f(r: Reply) -> u8 {
                let n = match r {
                    #[cfg(feature = "x")] // off
                    Reply::Pattern(n) => n, // off
                    #[cfg(feature = "x")] // off
                    Reply::Quit { now } => { // off
                        quit(now); // off
                        0 // off
                    } // off
                    Reply::Body(b) => {
                        b.len()
                    }
                    #[cfg(feature = "x")] // off
                    Reply::Other => if a { 1 } else { 2 } // off
                    #[cfg(feature = "x")] // off
                    Reply::Slow => match q { _ => 3 }, // off
                    _ => 4,
                };
                n
            }
        """)

    def test_cfg_statement_followed_by_live_code(self):
        self.check("""
            fn f(x: &mut X) {
                #[cfg(feature = "x")] // off
                x.log(format!("{}, {}", 1, 2)); // off
                x.run();
                #[cfg(feature = "x")] // off
                x.value = S { a: 1 }; // off
                x.done = true;
                #[cfg(feature = "x")] // off
                println! { "{}", 1 } // off
                x.last();
                #[cfg(feature = "x")] // off
                x.tail() // off
            }
            fn g() {}
        """)

    def test_cfg_items_variants_and_params(self):
        self.check("""
            enum E {
                #[cfg(feature = "x")] // off
                A { x: u8 }, // off
                B,
                #[cfg(feature = "x")] // off
                C(u8) // off
            }
            #[cfg(feature = "x")] // off
            pub(crate) unsafe impl Send for E {} // off
            #[cfg(feature = "x")] // off
            const fn h<A, B>() -> u8 { 1 } // off
            #[cfg(feature = "x")] // off
            const X: HashMap<u8, u8> = HashMap::new(); // off
            #[cfg(feature = "x")] // off
            struct Unit; // off
            fn p(#[cfg(feature = "x")] a: u8, b: u8) {}
        """)


class ModuleTree(unittest.TestCase):
    def test_follows_mods_and_skips_gated_files(self):
        with tempfile.TemporaryDirectory() as d:
            files = {
                "src/lib.rs": """
                    mod a;
                    pub mod b;
                    #[cfg(test)]
                    mod tests;
                    #[cfg(feature = "mock")]
                    mod mock;
                    #[path = "other/renamed.rs"]
                    mod c;
                    core::arch::global_asm!(include_str!("boot.s"));
                    include!("generated.rs");
                """,
                "src/generated.rs": "const G: u8 = 1;\n",
                "src/a.rs": "mod inner;\nfn a() {}\n",
                "src/a/inner.rs": "fn inner() {}\n",
                "src/b/mod.rs": "fn b() {}\n",
                "src/tests.rs": "fn t() {}\nfn u() {}\n",
                "src/mock.rs": "fn m() {}\n",
                "src/other/renamed.rs": "fn c() {}\n",
                "src/boot.s": "# comment\n  .code64\n\n  hlt\n  // also a comment\n",
            }
            for name, text in files.items():
                path = os.path.join(d, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(textwrap.dedent(text))
            c = tcb.count_crate("x", os.path.join(d, "src/lib.rs"), set(), set())
            # lib.rs 6 code lines + a.rs 2 + inner 1 + b 1 + renamed 1 + generated 1
            self.assertEqual((c.lines, c.files), (12, 6))
            self.assertEqual((c.asm_lines, c.asm_files), (2, 1))
            with_mock = tcb.count_crate("x", os.path.join(d, "src/lib.rs"), {"mock"}, set())
            self.assertEqual((with_mock.lines, with_mock.files), (15, 7))

    def test_generated_tables_are_listed_apart(self):
        with tempfile.TemporaryDirectory() as d:
            files = {
                "src/lib.rs": "mod tables;\nmod code;\nfn f() {}\n",
                "src/tables.rs": "// @generated by gen.py from x 1.0. Do not edit.\nstatic T: &[u8] = &[\n    1,\n    2,\n];\n",
                # "@generated" that is not the file's own header does not exempt it.
                "src/code.rs": "fn g() {}\n// see tables.rs: @generated by gen.py\nfn h() {}\n",
            }
            for name, text in files.items():
                path = os.path.join(d, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(text)
            c = tcb.count_crate("x", os.path.join(d, "src/lib.rs"), set(), set())
            self.assertEqual(c.lines, 3 + 2)
            self.assertEqual(list(c.generated.values()), [4])

    def test_missing_module_file_is_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "src"))
            with open(os.path.join(d, "src/lib.rs"), "w") as f:
                f.write("mod gone;\n")
            with self.assertRaises(tcb.GateError):
                tcb.count_crate("x", os.path.join(d, "src/lib.rs"), set(), set())


class TreeParsing(unittest.TestCase):
    def test_linked_build_time_and_first_party(self):
        text = textwrap.dedent("""\
            0app v0.1.0 (/r/guest/app)|
            1kernel v0.1.0 (/r/guest/kernel)|fault-test
            2spin v0.9.9|mutex,once
            1serde v1.0.229|derive
            2serde_derive v1.0.229 (proc-macro)|default
            3syn v2.0.119|full
            3quote v1.0.47|default
            1quote v1.0.47|default
        """)
        pkgs = tcb.parse_tree(text)
        self.assertEqual(pkgs[("kernel", "0.1.0")].path, "/r/guest/kernel")
        self.assertEqual(pkgs[("kernel", "0.1.0")].features, {"fault-test"})
        self.assertFalse(pkgs[("spin", "0.9.9")].build_time)
        self.assertTrue(pkgs[("serde_derive", "1.0.229")].build_time)
        self.assertIsNone(pkgs[("serde_derive", "1.0.229")].path)
        self.assertTrue(pkgs[("syn", "2.0.119")].build_time)
        # Reached both under the proc-macro and directly: linked.
        self.assertFalse(pkgs[("quote", "1.0.47")].build_time)


class Gate(unittest.TestCase):
    def test_small_budget_fails_with_a_clear_message(self):
        r = subprocess.run(
            [sys.executable, os.path.join(HERE, "tcb.py"), "--budget", "10"],
            capture_output=True, text=True,
        )
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("above the budget of 10", r.stdout)
        self.assertIn("guest/kernel", r.stdout)

    def fake_repo(self, d, doc_rows):
        os.makedirs(os.path.join(d, "app/src"))
        os.makedirs(os.path.join(d, "docs"))
        with open(os.path.join(d, "app/src/main.rs"), "w") as f:
            f.write("fn main() {}\n#[cfg(test)]\nmod tests {}\n")
        with open(os.path.join(d, "docs/tcb.md"), "w") as f:
            f.write("| crate | why |\n|---|---|\n" + doc_rows)
        tree = f"0app v0.1.0 ({d}/app)|\n1spin v0.9.9|\n1newdep v1.0.0|\n"
        old = tcb.cargo_tree, tcb.crate_roots
        tcb.cargo_tree = lambda repo, features: tree
        tcb.crate_roots = lambda repo, root: {"app": [os.path.join(d, "app/src/main.rs")]}
        self.addCleanup(lambda: setattr(tcb, "cargo_tree", old[0]) or setattr(tcb, "crate_roots", old[1]))

    def test_undocumented_third_party_crate_fails_the_gate(self):
        import io
        with tempfile.TemporaryDirectory() as d:
            self.fake_repo(d, "| `spin` | locks |\n")
            out = io.StringIO()
            self.assertEqual(tcb.run(d, 100, "", out=out), 1)
            self.assertIn("newdep 1.0.0", out.getvalue())
            self.assertIn("without a reason in docs/tcb.md", out.getvalue())

    def test_gate_passes_within_budget_with_every_crate_documented(self):
        import io
        with tempfile.TemporaryDirectory() as d:
            self.fake_repo(d, "| `spin` | locks |\n| newdep | new |\n")
            out = io.StringIO()
            self.assertEqual(tcb.run(d, 1, "", out=out), 0, out.getvalue())
            self.assertIn("TCB: 1 first-party lines", out.getvalue())
            self.assertEqual(tcb.run(d, 0, "", out=io.StringIO()), 1)

    def test_documented_crates_are_the_first_table_column(self):
        with tempfile.TemporaryDirectory() as d:
            doc = os.path.join(d, "tcb.md")
            with open(doc, "w") as f:
                f.write("| crate | why |\n|---|---|\n| :-- | x |\n| `spin` | locks |\n| smoltcp | TCP/IP |\n")
            self.assertEqual(tcb.documented_crates(doc), {"spin", "smoltcp"})


if __name__ == "__main__":
    unittest.main()
