"""The one unit vocabulary of dnemkit's datasets: every ``units`` attribute a results file carries is one of these
(CF-style: the unit alone; what the quantity is, its range or convention goes in ``long_name``).
"""

DIMENSIONLESS = "1"            #: correlations, indices, fractions, normalised maps
GREY_LEVEL = "grey level"      #: pixel intensity, 0 (black) .. 255 (white), 127.5 = mean grey
GREY_LEVEL_PER_FRAME = "grey level/frame"  #: motion energy: mean absolute frame-to-frame change
COUNTS_PER_FRAME = "counts/frame"  #: neural activity: (deconvolved) spike counts per 33.3 ms frame
PIXEL = "pixel"                #: screen position or length; 1 pixel = DEG_PER_PIXEL degrees
DEGREE = "degree"              #: visual angle or drift direction
RADIAN = "radian"              #: phase
CYCLES_PER_DEGREE = "cycles/degree"  #: spatial frequency
CYCLES_PER_PIXEL = "cycles/pixel"    #: spatial frequency on the pixel grid
HZ = "Hz"                      #: temporal frequency
FRAME = "frame"                #: time index at 30 Hz
MS = "ms"                      #: time
SECOND = "s"                   #: time
BIT = "bit"                    #: entropy

VOCABULARY = frozenset({DIMENSIONLESS, GREY_LEVEL, GREY_LEVEL_PER_FRAME, COUNTS_PER_FRAME, PIXEL, DEGREE, RADIAN,
                        CYCLES_PER_DEGREE, CYCLES_PER_PIXEL, HZ, FRAME, MS, SECOND, BIT})


def stray_units(ds):
    """[(variable or coordinate name, units)] of ``ds`` whose ``units`` attribute is not in :data:`VOCABULARY`."""
    return [(str(name), var.attrs["units"]) for name, var in ds.variables.items()
            if "units" in var.attrs and var.attrs["units"] not in VOCABULARY]
