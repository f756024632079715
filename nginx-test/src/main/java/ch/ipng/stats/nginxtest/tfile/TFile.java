package ch.ipng.stats.nginxtest.tfile;

import java.util.List;

/**
 * A parsed .t file: its name, the blocks, and file-level errors (e.g. no
 * block at all).
 */
public record TFile(String name, List<TBlock> blocks, List<String> errors) {

    public TFile {
        blocks = List.copyOf(blocks);
        errors = List.copyOf(errors);
    }

    /** The blocks to run: only the {@code --- ONLY} ones when any block has it. */
    public List<TBlock> blocksToRun() {
        List<TBlock> only = blocks.stream().filter(b -> b.has("ONLY")).toList();
        return only.isEmpty() ? blocks : only;
    }
}
