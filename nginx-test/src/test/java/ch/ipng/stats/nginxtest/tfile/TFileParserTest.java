package ch.ipng.stats.nginxtest.tfile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TFileParserTest {

    private static final String FILE = """
            use Test::Nginx::Socket 'no_plan';
            === not a block: before __DATA__
            run_tests();

            __DATA__

            === TEST 1: first
            a description line, ignored
            --- config
                location /t {
                    return 200 "hello";
                }


            --- request
            GET /t
            --- response_body chomp
            hello
            --- error_code: 201

            === TEST 2: second
            --- no_module
            --- error_log
            one
              two

            --- ONLY
            __END__
            === TEST 3: after __END__
            """;

    @Test
    void readsBlocksAfterDataAndStopsAtEnd() {
        TFile f = TFileParser.parse("x.t", FILE);
        assertEquals(List.of(), f.errors());
        assertEquals(2, f.blocks().size());
        assertEquals("TEST 1: first", f.blocks().get(0).header());
        assertEquals(7, f.blocks().get(0).line());
        assertEquals("TEST 2: second", f.blocks().get(1).header());
    }

    @Test
    void trimsSectionsLikeTestBase() {
        TBlock b = TFileParser.parse("x.t", FILE).blocks().get(0);
        assertEquals("    location /t {\n        return 200 \"hello\";\n    }\n", b.value("config"));
        assertEquals("GET /t\n", b.value("request"));
        assertEquals(9, b.section("config").get().line());
    }

    @Test
    void chompDropsTheFinalNewline() {
        TBlock b = TFileParser.parse("x.t", FILE).blocks().get(0);
        assertEquals("hello", b.value("response_body"));
        assertEquals(List.of("chomp"), b.section("response_body").get().filters());
    }

    @Test
    void inlineValueHasNoNewline() {
        Section s = TFileParser.parse("x.t", FILE).blocks().get(0).section("error_code").get();
        assertEquals("201", s.value());
        assertTrue(s.inline());
    }

    @Test
    void flagSectionsAreEmptyAndLinesAreStripped() {
        TBlock b = TFileParser.parse("x.t", FILE).blocks().get(1);
        assertTrue(b.has("no_module"));
        assertEquals("", b.value("no_module"));
        assertEquals(List.of("one", "two"), b.section("error_log").get().lines());
    }

    @Test
    void onlySelectsItsBlock() {
        TFile f = TFileParser.parse("x.t", FILE);
        assertEquals(List.of("TEST 2: second"), f.blocksToRun().stream().map(TBlock::header).toList());
    }

    @Test
    void unknownSectionIsAnErrorWithASuggestion() {
        TBlock b = TFileParser.parse("x.t", "=== TEST 1: t\n--- respone_body\nx\n").blocks().get(0);
        assertEquals(1, b.errors().size());
        String e = b.errors().get(0);
        assertTrue(e.contains("x.t:2: unknown section '--- respone_body'"), e);
        assertTrue(e.contains("did you mean '--- response_body'"), e);
        assertFalse(b.has("respone_body"));
    }

    @Test
    void repeatedSectionIsAnError() {
        TBlock b = TFileParser.parse("x.t", "=== TEST 1: t\n--- config\na\n--- config\nb\n")
                .blocks().get(0);
        assertTrue(b.errors().get(0).contains("given twice"), b.errors().toString());
    }

    @Test
    void unknownFilterIsAnError() {
        TBlock b = TFileParser.parse("x.t", "=== TEST 1: t\n--- request eval\n\"GET /\"\n")
                .blocks().get(0);
        assertTrue(b.errors().get(0).contains("unknown filter 'eval'"), b.errors().toString());
    }

    @Test
    void inlineValueAndBodyTogetherIsAnError() {
        TBlock b = TFileParser.parse("x.t", "=== TEST 1: t\n--- error_code: 200\n404\n")
                .blocks().get(0);
        assertTrue(b.errors().get(0).contains("inline value and following lines"), b.errors().toString());
    }

    @Test
    void withoutDataMarkerParsesFromTheFirstBlock() {
        TFile f = TFileParser.parse("x.t", "# comment\n=== TEST 1: a\n--- config\nx\n");
        assertEquals(List.of(), f.errors());
        assertEquals("x\n", f.blocks().get(0).value("config"));
    }

    @Test
    void aFileWithoutBlocksIsAnError() {
        TFile f = TFileParser.parse("x.t", "__DATA__\n\n");
        assertTrue(f.errors().get(0).contains("no '=== TEST n: title' block"), f.errors().toString());
    }

    @Test
    void strayTextAfterDataIsAnError() {
        TFile f = TFileParser.parse("x.t", "__DATA__\noops\n=== TEST 1: a\n--- config\nx\n");
        assertTrue(f.errors().get(0).contains("x.t:2: text outside a block"), f.errors().toString());
    }

    @Test
    void carriageReturnsAreIgnored() {
        TBlock b = TFileParser.parse("x.t", "=== TEST 1: a\r\n--- request\r\nGET /\r\n").blocks().get(0);
        assertEquals("GET /\n", b.value("request"));
    }

    @Test
    void trimKeepsInnerBlankLinesAndIndentation() {
        assertEquals("  a\n\nb\n", TFileParser.trim("\n \n  a\n\nb\n\n  \n"));
        assertEquals("", TFileParser.trim("\n\n"));
    }
}
