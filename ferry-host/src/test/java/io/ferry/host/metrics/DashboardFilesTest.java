package io.ferry.host.metrics;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Every file the dashboard's page loads is served from the class path; it loads nothing from elsewhere. */
class DashboardFilesTest {

    @Test
    void everyFileThePageLoadsIsThereAndLocal() throws Exception {
        byte[] index = OpsServer.resource("index.html");
        assertNotNull(index, "index.html under " + OpsServer.STATIC_ROOT);
        String html = new String(index, StandardCharsets.UTF_8);
        List<String> loaded = new ArrayList<>();
        Matcher m = Pattern.compile("(?:src|href)=\"([^\"]+)\"").matcher(html);
        while (m.find()) {
            loaded.add(m.group(1));
        }
        assertTrue(loaded.containsAll(List.of("dashboard.css", "dashboard.js", "vendor/echarts.min.js")), loaded::toString);
        for (String f : loaded) {
            assertTrue(!f.contains("//") && !f.startsWith("/"), "a relative, local URL: " + f);
            if (f.equals("api/status") || f.equals("metrics")) {
                continue; // the listener's own endpoints (footer links)
            }
            assertNotNull(OpsServer.resource(f), f + " is served");
        }
    }

    @Test
    void echartsComesFromTheWebjar() throws Exception {
        byte[] js = OpsServer.resource("vendor/echarts.min.js");
        assertNotNull(js, "the ECharts webjar (org.webjars.npm:echarts) at " + OpsServer.VENDOR);
        assertTrue(js.length > 500_000, "the full minified build, " + js.length + " bytes");
        assertNull(OpsServer.resource("vendor/zrender.js"), "only the listed vendor files");
    }
}
