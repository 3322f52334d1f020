package io.ferry.it;

import static org.junit.jupiter.api.Assertions.*;

import io.ferry.bench.chaos.RegionProbes;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The chaos keys of the REGIONS part hold their acceptance: truncate_survived and symlink_dir_refused are true. */
class RegionProbesIT {

    @Test
    void theRegionProbesReportSurvivalAndRefusal() throws Exception {
        Map<String, Object> figures = RegionProbes.run(Path.of("/dev/shm"));
        assertEquals(Boolean.TRUE, figures.get("truncate_survived"), figures.toString());
        assertEquals(Boolean.TRUE, figures.get("symlink_dir_refused"), figures.toString());
    }
}
