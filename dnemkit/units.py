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
DECIBEL = "dB"                 #: peak signal-to-noise ratio
ARBITRARY = "a.u."             #: arbitrary units: as the recording gives them (behaviour: pupil, running speed)
OCTAVE = "octave"              #: bandwidth: log2 of a frequency ratio
PERCENT = "%"                  #: relative change

VOCABULARY = frozenset({DIMENSIONLESS, GREY_LEVEL, GREY_LEVEL_PER_FRAME, COUNTS_PER_FRAME, PIXEL, DEGREE, RADIAN,
                        CYCLES_PER_DEGREE, CYCLES_PER_PIXEL, HZ, FRAME, MS, SECOND, BIT, DECIBEL, ARBITRARY,
                        OCTAVE, PERCENT})


def per(unit):
    """The unit of a slope of a dimensionless quantity against ``unit``: '1' for '1', else '1/unit'."""
    return DIMENSIONLESS if unit == DIMENSIONLESS else f"{DIMENSIONLESS}/{unit}"


def known(unit):
    """True for a unit of the vocabulary, or a slope unit :func:`per` makes of one."""
    return unit in VOCABULARY or (unit.startswith(f"{DIMENSIONLESS}/") and unit[2:] in VOCABULARY)


def _units_of(ds, var):
    """The units of ``var``: its ``units`` attribute, or the values of the coordinate its ``units_from`` names (one
    unit per element, for a variable whose elements differ in unit, e.g. slopes against several predictors)."""
    if "units_from" in var.attrs and var.attrs["units_from"] in ds.coords:
        return [str(u) for u in ds.coords[var.attrs["units_from"]].values]
    return [var.attrs["units"]] if "units" in var.attrs else []


def stray_units(ds):
    """[(variable or coordinate name, units)] of ``ds`` whose units (attribute ``units``, or per element through
    ``units_from``) are not :func:`known`."""
    return [(str(name), unit) for name, var in ds.variables.items() for unit in _units_of(ds, var)
            if not known(str(unit))]


def missing_units(ds):
    """Names of the floating-point variables and coordinates of ``ds`` that carry no ``units`` attribute (a number
    without a unit; flags, counts of things, indices and names are not floating point and need none)."""
    return [str(name) for name, var in ds.variables.items() if var.dtype.kind in "fc" and not _units_of(ds, var)]
