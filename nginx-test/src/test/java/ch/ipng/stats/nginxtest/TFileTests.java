package ch.ipng.stats.nginxtest;

import static org.junit.jupiter.api.Assertions.fail;

import ch.ipng.stats.nginxtest.tfile.BlockRunner;
import ch.ipng.stats.nginxtest.tfile.TBlock;
import ch.ipng.stats.nginxtest.tfile.TFile;
import ch.ipng.stats.nginxtest.tfile.TFileParser;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every {@code t/*.t} file (or those whose name contains
 * {@code -Dipng.t.filter=...}) against the real nginx: one container per
 * file, one test per {@code === TEST} block. See nginx-test/README.md.
 */
class TFileTests {

    @TestFactory
    Stream<DynamicNode> tFiles() throws IOException {
        Path dir = TestEnv.tDir();
        String filter = TestEnv.tFilter();
        if (!Files.isDirectory(dir)) {
            fail("no .t directory " + dir + " (set -Dipng.t.dir)");
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".t"))
                    .filter(p -> p.getFileName().toString().contains(filter))
                    .sorted()
                    .toList();
        }
        if (files.isEmpty()) {
            fail("no .t file in " + dir + (filter.isEmpty() ? "" : " matches -Dipng.t.filter=" + filter));
        }
        BlockRunner.Settings settings = BlockRunner.Settings.fromEnv();
        return files.stream().map(f -> container(f, settings));
    }

    private static DynamicNode container(Path file, BlockRunner.Settings settings) {
        TFile t = TFileParser.parse(file);
        URI uri = file.toUri();
        List<DynamicNode> tests = new ArrayList<>();
        if (!t.errors().isEmpty()) {
            tests.add(DynamicTest.dynamicTest("parse " + t.name(), uri,
                    () -> fail(String.join("\n", t.errors()))));
        }
        for (TBlock b : t.blocksToRun()) {
            URI at = URI.create(uri + "?line=" + b.line());
            tests.add(DynamicTest.dynamicTest(b.displayName(), at, () -> BlockRunner.run(b, settings)));
        }
        return DynamicContainer.dynamicContainer(t.name(), uri, tests.stream());
    }
}
