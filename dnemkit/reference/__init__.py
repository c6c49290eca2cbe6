"""The reference implementation's files: its pickled reconstruction summaries read safely, assembled, scored and
written (:mod:`.summary`, :mod:`.pickles`)."""

from .pickles import load_pickle, dump_pickle
from .summary import FIELDS, read_summary, read_summaries, summary_dict, write_summary, find_summaries

__all__ = ["FIELDS", "read_summary", "read_summaries", "summary_dict", "write_summary", "find_summaries",
           "load_pickle", "dump_pickle"]
