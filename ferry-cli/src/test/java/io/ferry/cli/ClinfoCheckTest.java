package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The rule native-demo holds clinfo's output to, on outputs shaped like clinfo 3.0's. */
class ClinfoCheckTest {
    private static final String GOOD = """
            Number of platforms                               1
              Platform Name                                   Ferry
              Platform Vendor                                 Ferry
              Platform Version                                OpenCL 1.2 Ferry 0.1.0
              Platform Extensions                             cl_khr_icd

              Platform Name                                   Ferry
            Number of devices                                 1
              Device Name                                     pthread-haswell-AMD EPYC
              Device Version                                  OpenCL 1.2 Ferry (pthread)
            %s
            NULL platform behavior
              clCreateContextFromType(NULL, CL_DEVICE_TYPE_ALL)  Success (1)
                Platform Name                                 Ferry
                Device Name                                   pthread-haswell-AMD EPYC
            """;

    @Test
    void aFerryPlatformWithADeviceAndNoErrorPasses() {
        var v = ClinfoCheck.check(0, GOOD.formatted(""), "Ferry");
        assertTrue(v.ok(), v.detail());
        assertTrue(v.detail().contains("1 device(s): pthread-haswell-AMD EPYC; no failed query"), v.detail());
    }

    @Test
    void invalidValueForAnExtensionQueryIsTolerated() {
        String line = "  Preferred work group size (AMD)  <printDeviceInfo:211: get CL_DEVICE_PREFERRED_WORK_GROUP_SIZE_AMD"
                + " : error -30>";
        var v = ClinfoCheck.check(0, GOOD.formatted(line), "Ferry");
        assertTrue(v.ok(), v.detail());
        assertTrue(v.detail().contains("CL_DEVICE_PREFERRED_WORK_GROUP_SIZE_AMD"), v.detail());
    }

    @Test
    void aFailedCoreQueryOrAnotherCodeFails() {
        assertFalse(ClinfoCheck.check(0, GOOD.formatted(
                "  Max clock frequency  <printDeviceInfo:99: get CL_DEVICE_MAX_CLOCK_FREQUENCY : error -30>"), "Ferry").ok());
        assertFalse(ClinfoCheck.check(0, GOOD.formatted(
                "  SVM  <printDeviceInfo:99: get CL_DEVICE_SVM_CAPABILITIES : error -5>"), "Ferry").ok());
        assertFalse(ClinfoCheck.check(0, GOOD.formatted(
                "  Max work item sizes  <printDeviceInfo:99: get CL_DEVICE_MAX_WORK_ITEM_SIZES : size mismatch"
                        + " (requested 24, we offer 16)>"), "Ferry").ok());
    }

    @Test
    void noFerryPlatformNoDeviceOrANonZeroExitFails() {
        assertFalse(ClinfoCheck.check(0, GOOD.formatted("").replace("Ferry", "Portable Computing Language"), "Ferry")
                .ok());
        assertFalse(ClinfoCheck.check(0, GOOD.formatted("").replace("Number of devices                                 1",
                "Number of devices                                 0"), "Ferry").ok());
        assertFalse(ClinfoCheck.check(1, GOOD.formatted(""), "Ferry").ok());
    }
}
