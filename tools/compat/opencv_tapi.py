"""OpenCV's transparent API (cv2.UMat: OpenCV runs its own OpenCL kernels) on 18 operations; prints one line per
operation: NAME SHAPE MD5 of the result (floats rounded to 2 decimals). The OpenCL platform is whatever the
environment gives (OCL_ICD_VENDORS): run it once on the host's own OpenCL and once through Ferry, and compare
(tools/compat/apps.sh does). OpenCV uses only GPUs unless OPENCV_OPENCL_DEVICE says otherwise (":CPU:" for PoCL).
Needs Debian's python3-opencv. Not here: Canny, whose OpenCL edge tracking gives another result now and then on
PoCL itself (1 run in 24 here), so it cannot be compared run to run."""
import hashlib
import sys

import cv2
import numpy as np

cv2.ocl.setUseOpenCL(True)
if not cv2.ocl.useOpenCL():
    sys.exit("OpenCV found no OpenCL device: set OPENCV_OPENCL_DEVICE (e.g. :CPU:)")
print("device", cv2.ocl.Device_getDefault().name().replace(" ", "_"))
rng = np.random.default_rng(7)
img = (rng.random((480, 640, 3)) * 255).astype(np.uint8)
u = cv2.UMat(img)
g = cv2.cvtColor(u, cv2.COLOR_BGR2GRAY)
a = cv2.UMat(rng.random((256, 256)).astype(np.float32))
mx, my = np.meshgrid(np.arange(640, dtype=np.float32) * 0.9, np.arange(480, dtype=np.float32) * 0.9)
res = {
    'cvtColor': g,
    'GaussianBlur': cv2.GaussianBlur(u, (7, 7), 1.5),
    'resize': cv2.resize(u, (320, 240), interpolation=cv2.INTER_LINEAR),
    'Sobel': cv2.Sobel(g, cv2.CV_16S, 1, 0),
    'threshold': cv2.threshold(g, 127, 255, cv2.THRESH_BINARY)[1],
    'warpAffine': cv2.warpAffine(u, np.float32([[1, 0.1, 5], [0.05, 1, 3]]), (640, 480)),
    'morphologyEx': cv2.morphologyEx(g, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)),
    'add': cv2.add(u, u),
    'equalizeHist': cv2.equalizeHist(g),
    'bilateralFilter': cv2.bilateralFilter(u, 9, 75, 75),
    'medianBlur': cv2.medianBlur(g, 5),
    'pyrDown': cv2.pyrDown(u),
    'remap': cv2.remap(u, cv2.UMat(mx), cv2.UMat(my), cv2.INTER_LINEAR),
    'gemm': cv2.gemm(a, a, 1.0, None, 0.0),
    'dft': cv2.dft(a),
    'minMaxLoc': np.array(cv2.minMaxLoc(g)[:2]),
    'sumElems': np.array(cv2.sumElems(u)),
    'norm': np.array([cv2.norm(u, cv2.NORM_L2)]),
}
for name, v in res.items():
    arr = v.get() if isinstance(v, cv2.UMat) else v
    if arr.dtype in (np.float32, np.float64):
        arr = np.round(arr.astype(np.float64), 2)
    print(name, "x".join(map(str, arr.shape)), hashlib.md5(arr.tobytes()).hexdigest()[:16])
