"""H on P, Si, B and the other heavier non-metals: a bond longer than 1.3 Å is still a bond
(geometry.h_reach), so a published or user's P–H counts, is judged, and is written back as the
user refined it; a metal's hydride stays a note. Real files, transcribed."""

import json
from dataclasses import replace

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import numpy as np
import pytest

from crystalx_core.cli import main
from crystalx_core.crystallography.compare import hydrogen_pivots, hydrogens_per_atom
from crystalx_core.elements import is_hydrogen
from crystalx_core.geometry import H_BOND_MAX, bonded_h_counts, h_reach
from crystalx_core.io.cif import read_cif

# COD 4060308 (Ionescu, von Frantzius, Jones, Streubel, Organometallics 24 (2005) 2237; public
# domain), as dkratzert/FinalCif test-data/4060308.cif holds it (commit 66a996e9cdb5), cut to its
# cell, symmetry and atoms: a W(CO)5 phosphine complex whose P–H, 1.32(2) Å, was refined freely
# ("PH free, rigid methyls, others riding").
W_PHOSPHINE = r"""data_4060308
_chemical_formula_sum            'C13 H20 N O5 P Si2 W'
_space_group_IT_number           2
_symmetry_space_group_name_Hall  '-P 1'
_symmetry_space_group_name_H-M   'P -1'
_cell_angle_alpha                73.219(3)
_cell_angle_beta                 89.975(3)
_cell_angle_gamma                81.823(3)
_cell_formula_units_Z            2
_cell_length_a                   6.9618(4)
_cell_length_b                   9.6073(8)
_cell_length_c                   16.1541(9)
_diffrn_radiation_type           MoK\a
_diffrn_radiation_wavelength     0.71073
_refine_ls_hydrogen_treatment    'PH free, rigid methyls, others riding'
loop_
_symmetry_equiv_pos_as_xyz
'x, y, z'
'-x, -y, -z'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
_atom_site_adp_type
_atom_site_occupancy
_atom_site_symmetry_multiplicity
_atom_site_calc_flag
_atom_site_refinement_flags
_atom_site_disorder_assembly
_atom_site_disorder_group
W W 0.261181(10) 0.716083(8) 0.116808(5) 0.01703(2) Uani 1 1 d . . .
N N -0.1900(3) 0.4336(2) 0.24210(13) 0.0367(4) Uani 1 1 d . . .
P P 0.21119(6) 0.46014(5) 0.18983(3) 0.01652(9) Uani 1 1 d . . .
H0 H 0.208(3) 0.382(2) 0.1354(14) 0.025(6) Uiso 1 1 d . . .
Si1 Si 0.27506(8) 0.35607(6) 0.39420(3) 0.02167(10) Uani 1 1 d U . .
Si2 Si 0.41973(8) 0.14789(6) 0.27166(3) 0.02091(10) Uani 1 1 d U . .
O1 O 0.0283(2) 0.70023(19) -0.04908(10) 0.0380(4) Uani 1 1 d . . .
O2 O -0.1250(2) 0.83559(19) 0.19606(12) 0.0451(4) Uani 1 1 d . . .
O3 O 0.2884(2) 1.04673(17) 0.01445(12) 0.0412(4) Uani 1 1 d . . .
O4 O 0.6480(2) 0.59289(17) 0.03919(10) 0.0328(3) Uani 1 1 d . . .
O5 O 0.5215(2) 0.72042(18) 0.27815(10) 0.0349(3) Uani 1 1 d . . .
C1 C 0.1083(3) 0.7053(2) 0.01169(13) 0.0244(4) Uani 1 1 d . . .
C2 C 0.0128(3) 0.7923(2) 0.16746(14) 0.0271(4) Uani 1 1 d . . .
C3 C 0.2853(3) 0.9260(2) 0.05228(14) 0.0273(4) Uani 1 1 d . . .
C4 C 0.5099(3) 0.6370(2) 0.06706(12) 0.0221(4) Uani 1 1 d . . .
C5 C 0.4272(3) 0.7202(2) 0.21995(13) 0.0236(4) Uani 1 1 d . . .
C6 C 0.3553(2) 0.34070(19) 0.28357(11) 0.0174(3) Uani 1 1 d U . .
H6 H 0.4825 0.3789 0.2774 0.021 Uiso 1 1 calc R . .
C7 C 0.1395(3) 0.5418(2) 0.38876(14) 0.0310(4) Uani 1 1 d U . .
H7A H 0.0142 0.5562 0.3575 0.037 Uiso 1 1 calc R . .
H7B H 0.2157 0.6179 0.3584 0.037 Uiso 1 1 calc R . .
H7C H 0.1175 0.5483 0.4475 0.037 Uiso 1 1 calc R . .
C8 C 0.5040(3) 0.3274(3) 0.46181(14) 0.0328(5) Uani 1 1 d U . .
H8A H 0.4714 0.3325 0.5200 0.039 Uiso 1 1 calc R . .
H8B H 0.5828 0.4040 0.4351 0.039 Uiso 1 1 calc R . .
H8C H 0.5775 0.2307 0.4657 0.039 Uiso 1 1 calc R . .
C9 C 0.1132(3) 0.2172(2) 0.44494(14) 0.0307(4) Uani 1 1 d U . .
H9A H 0.1818 0.1181 0.4512 0.037 Uiso 1 1 calc R . .
H9B H -0.0047 0.2345 0.4081 0.037 Uiso 1 1 calc R . .
H9C H 0.0778 0.2265 0.5020 0.037 Uiso 1 1 calc R . .
C10 C 0.5860(3) 0.0301(2) 0.36344(14) 0.0320(5) Uani 1 1 d U . .
H10A H 0.6244 -0.0668 0.3549 0.038 Uiso 1 1 calc R . .
H10B H 0.5190 0.0190 0.4178 0.038 Uiso 1 1 calc R . .
H10C H 0.7018 0.0763 0.3658 0.038 Uiso 1 1 calc R . .
C11 C 0.1942(3) 0.0656(2) 0.26610(15) 0.0321(5) Uani 1 1 d U . .
H11A H 0.1051 0.1326 0.2201 0.039 Uiso 1 1 calc R . .
H11B H 0.1312 0.0498 0.3217 0.039 Uiso 1 1 calc R . .
H11C H 0.2279 -0.0286 0.2536 0.039 Uiso 1 1 calc R . .
C12 C 0.5538(3) 0.1627(3) 0.17020(14) 0.0342(5) Uani 1 1 d U . .
H12A H 0.6622 0.2175 0.1704 0.041 Uiso 1 1 calc R . .
H12B H 0.4656 0.2144 0.1201 0.041 Uiso 1 1 calc R . .
H12C H 0.6041 0.0640 0.1668 0.041 Uiso 1 1 calc R . .
C13 C -0.0360(3) 0.4402(2) 0.22160(13) 0.0235(4) Uani 1 1 d . . .
loop_
_atom_site_aniso_label
_atom_site_aniso_U_11
_atom_site_aniso_U_22
_atom_site_aniso_U_33
_atom_site_aniso_U_23
_atom_site_aniso_U_13
_atom_site_aniso_U_12
W 0.01575(4) 0.01504(4) 0.01936(4) -0.00395(3) 0.00147(2) -0.00150(2)
N 0.0265(10) 0.0383(11) 0.0426(12) -0.0068(9) -0.0004(8) -0.0061(8)
P 0.0159(2) 0.0161(2) 0.0177(2) -0.00515(17) 0.00028(15) -0.00250(17)
Si1 0.0244(3) 0.0239(3) 0.0178(3) -0.0074(2) 0.00223(18) -0.0045(2)
Si2 0.0241(3) 0.0172(2) 0.0201(3) -0.00514(19) -0.00080(18) 0.0010(2)
O1 0.0322(8) 0.0521(10) 0.0302(9) -0.0128(7) -0.0067(6) -0.0063(7)
O2 0.0320(9) 0.0371(10) 0.0631(12) -0.0138(9) 0.0178(8) 0.0038(7)
O3 0.0368(9) 0.0211(8) 0.0566(11) 0.0025(7) 0.0051(7) -0.0038(7)
O4 0.0272(8) 0.0378(9) 0.0299(8) -0.0083(7) 0.0064(6) 0.0036(6)
O5 0.0323(8) 0.0460(10) 0.0323(9) -0.0185(7) -0.0017(6) -0.0096(7)
C1 0.0202(9) 0.0243(10) 0.0268(10) -0.0049(8) 0.0033(7) -0.0026(7)
C2 0.0250(10) 0.0196(10) 0.0349(12) -0.0056(8) 0.0033(8) -0.0024(8)
C3 0.0216(9) 0.0256(11) 0.0331(11) -0.0069(8) 0.0015(7) -0.0009(8)
C4 0.0237(9) 0.0211(9) 0.0190(9) -0.0021(7) 0.0000(7) -0.0029(7)
C5 0.0237(9) 0.0220(10) 0.0274(10) -0.0105(8) 0.0069(7) -0.0042(7)
C6 0.0163(8) 0.0184(9) 0.0168(9) -0.0040(6) 0.0000(6) -0.0024(6)
C7 0.0384(12) 0.0295(11) 0.0285(11) -0.0142(9) 0.0097(8) -0.0042(9)
C8 0.0379(12) 0.0372(12) 0.0264(11) -0.0129(9) -0.0059(8) -0.0074(9)
C9 0.0336(11) 0.0331(12) 0.0245(11) -0.0059(9) 0.0069(8) -0.0074(9)
C10 0.0368(12) 0.0248(11) 0.0296(11) -0.0051(8) -0.0078(8) 0.0050(9)
C11 0.0366(12) 0.0234(11) 0.0397(13) -0.0141(9) -0.0020(9) -0.0051(9)
C12 0.0405(12) 0.0335(12) 0.0267(11) -0.0110(9) 0.0070(9) 0.0053(10)
C13 0.0227(9) 0.0196(9) 0.0264(10) -0.0034(7) -0.0038(7) -0.0042(7)
"""

# COD 2207381, cadmium bis(hypophosphite) (Naumov, Naumova, Kuratieva, Acta Cryst. E61 (2005)
# i251), as cod-developers/cod-tools tests/inputs/cif_fix_values/2207381-correct-values.cif holds
# it (commit e9a0ca0fb098), cut to its cell, symmetry and atoms: both P–H refined freely,
# 1.30(7) and 1.38(7) Å ("refxyz").
HYPOPHOSPHITE = """data_2207381
_chemical_formula_sum            'Cd H4 O4 P2'
_symmetry_space_group_name_Hall  '-C 2yc'
_symmetry_space_group_name_H-M   'C 1 2/c 1'
_cell_angle_alpha                90.00
_cell_angle_beta                 102.487(14)
_cell_angle_gamma                90.00
_cell_formula_units_Z            4
_cell_length_a                   15.156(2)
_cell_length_b                   5.4692(8)
_cell_length_c                   6.5516(13)
_refine_ls_hydrogen_treatment    refxyz
loop_
_symmetry_equiv_pos_as_xyz
'x, y, z'
'-x, y, -z+1/2'
'x+1/2, y+1/2, z'
'-x+1/2, y+1/2, -z+1/2'
'-x, -y, -z'
'x, -y, z-1/2'
'-x+1/2, -y+1/2, -z'
'x+1/2, -y+1/2, z-1/2'
loop_
_atom_site_label
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
_atom_site_adp_type
_atom_site_calc_flag
_atom_site_refinement_flags
_atom_site_occupancy
_atom_site_type_symbol
Cd 0.0000 0.16799(9) 0.2500 0.0216(2) Uani d S 1 Cd
P 0.13907(9) 0.6834(2) 0.2216(2) 0.0211(3) Uani d . 1 P
O1 0.1118(3) 0.4237(7) 0.2296(7) 0.0324(9) Uani d . 1 O
O2 0.0710(3) 0.8621(7) 0.1026(7) 0.0319(9) Uani d . 1 O
H1 0.167(4) 0.784(12) 0.404(11) 0.025 Uiso d . 1 H
H2 0.201(4) 0.692(11) 0.096(11) 0.025 Uiso d . 1 H
loop_
_atom_site_aniso_label
_atom_site_aniso_U_11
_atom_site_aniso_U_22
_atom_site_aniso_U_33
_atom_site_aniso_U_12
_atom_site_aniso_U_13
_atom_site_aniso_U_23
Cd 0.0328(3) 0.0141(3) 0.0171(3) 0.000 0.0036(2) 0.000
P 0.0223(6) 0.0191(6) 0.0207(6) -0.0012(5) 0.0022(5) 0.0010(5)
O1 0.040(2) 0.0175(17) 0.042(2) -0.0013(16) 0.0139(19) 0.0048(17)
O2 0.043(2) 0.0193(18) 0.031(2) 0.0112(16) 0.0016(18) -0.0016(15)
"""

# cod-developers/cod-tools tests/inputs/no_Z_valid_estimation.cif (commit e9a0ca0fb098), a COD
# Ru(II) hydride with a silyl ligand, cut to its non-H atoms and the hydride H1 (refined freely,
# 1.53 Å from Ru1 and 2.05 Å from Si1: an Ru–H···Si contact, no Si–H bond).
RU_HYDRIDE = """data_no_Z_valid_estimation
_chemical_formula_sum            'C21 H43 Cl2 P Ru Si'
_space_group_IT_number           14
_space_group_name_Hall           '-P 2ybc'
_space_group_name_H-M_alt        'P 1 21/c 1'
_cell_angle_alpha                90.00
_cell_angle_beta                 99.8980(10)
_cell_angle_gamma                90.00
_cell_length_a                   10.9544(3)
_cell_length_b                   15.0911(4)
_cell_length_c                   15.4986(4)
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
_atom_site_adp_type
_atom_site_occupancy
Ru1 Ru 0.724789(16) 0.561806(11) 0.229047(12) 0.01809(6) Uani 1
Cl1 Cl 0.87338(6) 0.44697(4) 0.27919(4) 0.02954(14) Uani 1
Cl2 Cl 0.57731(7) 0.63861(5) 0.42272(5) 0.03881(16) Uani 1
P1 P 0.89547(6) 0.65982(4) 0.23042(4) 0.02139(13) Uani 1
Si1 Si 0.70879(7) 0.54902(5) 0.38094(5) 0.02732(15) Uani 1
C1 C 0.5524(2) 0.60309(17) 0.13903(18) 0.0289(6) Uani 1
C2 C 0.5243(2) 0.52959(18) 0.19015(18) 0.0304(6) Uani 1
C3 C 0.5937(2) 0.45537(16) 0.17005(17) 0.0257(5) Uani 1
C4 C 0.6622(2) 0.48303(15) 0.10208(16) 0.0245(5) Uani 1
C5 C 0.6325(2) 0.57255(16) 0.08123(16) 0.0266(5) Uani 1
C6 C 0.4826(3) 0.68914(19) 0.1322(2) 0.0447(8) Uani 1
C7 C 0.4191(3) 0.5281(2) 0.2407(2) 0.0481(8) Uani 1
C8 C 0.5882(3) 0.36186(17) 0.2015(2) 0.0398(7) Uani 1
C9 C 0.7355(3) 0.42047(18) 0.05642(19) 0.0353(6) Uani 1
C10 C 0.6641(3) 0.62156(19) 0.00400(18) 0.0396(7) Uani 1
C11 C 0.9519(2) 0.66631(16) 0.12380(17) 0.0285(5) Uani 1
C12 C 0.9849(3) 0.57595(18) 0.0883(2) 0.0378(7) Uani 1
C13 C 1.0551(3) 0.73396(19) 0.11784(19) 0.0408(7) Uani 1
C14 C 0.8610(2) 0.77883(15) 0.24771(16) 0.0267(5) Uani 1
C15 C 0.8115(3) 0.79611(18) 0.33274(18) 0.0369(6) Uani 1
C16 C 0.7688(3) 0.81737(17) 0.17152(19) 0.0377(7) Uani 1
C17 C 1.0344(2) 0.63778(18) 0.31723(18) 0.0302(6) Uani 1
C18 C 1.1269(3) 0.5720(2) 0.2898(2) 0.0457(8) Uani 1
C19 C 1.1071(3) 0.7199(2) 0.3552(2) 0.0438(7) Uani 1
C20 C 0.8475(3) 0.5714(2) 0.46699(17) 0.0376(7) Uani 1
C21 C 0.6501(4) 0.43908(19) 0.4146(2) 0.0476(8) Uani 1
H1 H 0.701(3) 0.6422(18) 0.2835(19) 0.037(8) Uiso 1
"""


# cod-developers/cod-tools tests/inputs/1100854_tag_mandatory_in_reference.cif (commit
# e9a0ca0fb098), a COD diruthenaborane: its Ru2B8 cage and the cage's H (refined freely: terminal
# B–H 0.90-1.23 Å, the bridging H45, H56 and H78 1.31, 1.38 and 1.06 Å from the B holding them),
# cut from its Cp* and Cl atoms.
B_CAGE = """data_1100854
_chemical_formula_sum     'C20 H41 B8 Cl Ru2'
_symmetry_space_group_name_H-M    'P 21 21 21'
_cell_length_a                    9.705(4)
_cell_length_b                    13.701(4)
_cell_length_c                    19.123(6)
_cell_angle_alpha                 90.00
_cell_angle_beta                  90.00
_cell_angle_gamma                 90.00
_cell_formula_units_Z             4
loop_
 _symmetry_equiv_pos_as_xyz
 'x, y, z'
 '-x+1/2, -y, z+1/2'
 '-x, y+1/2, -z+1/2'
 'x+1/2, -y+1/2, -z'
loop_
 _atom_site_label
 _atom_site_type_symbol
 _atom_site_fract_x
 _atom_site_fract_y
 _atom_site_fract_z
 _atom_site_U_iso_or_equiv
Ru1 Ru 0.03895(4) -0.52564(3) -0.05163(2) 0.01513(9)
Ru2 Ru 0.03254(4) -0.53339(3) 0.09994(2) 0.01549(9)
B1 B -0.0458(6) -0.4322(4) 0.0259(4) 0.0195(10)
H1 H -0.031(9) -0.343(6) 0.028(4) 0.03(2)
B2 B -0.1786(7) -0.4943(5) -0.0194(4) 0.0248(13)
B3 B -0.1851(7) -0.4853(5) 0.0726(4) 0.0221(12)
B4 B 0.1187(6) -0.6274(4) 0.0212(3) 0.0171(10)
H4 H 0.223(9) -0.652(6) 0.026(4) 0.03(2)
H45 H 0.0334 -0.6976 0.0388 0.030
B5 B 0.0056(7) -0.6823(5) -0.0416(4) 0.0240(13)
H5 H 0.034(10) -0.742(7) -0.086(5) 0.05(3)
H56 H -0.124(8) -0.707(6) -0.017(4) 0.03(2)
B6 B -0.1504(7) -0.6108(5) -0.0558(4) 0.0236(12)
H6 H -0.204(8) -0.626(5) -0.101(4) 0.019(18)
B7 B -0.2663(7) -0.5833(5) 0.0293(4) 0.0270(13)
H7 H -0.368(9) -0.587(7) 0.008(4) 0.04(2)
H78 H -0.198(7) -0.655(5) 0.069(3) 0.012(16)
B8 B -0.1726(8) -0.6026(5) 0.1073(4) 0.0262(14)
H8 H -0.212(11) -0.613(7) 0.149(5) 0.05(3)
"""


def _read(tmp_path, text: str, name: str = "x.cif"):
    (tmp_path / name).write_text(text)
    return read_cif(tmp_path / name).structure


def _label(structure, label):
    return next(k for k, s in enumerate(structure.sites) if s.label == label)


def test_each_element_reaches_its_own_x_h_and_no_further():
    """The reach covers the X–H distances refined with X-ray data (P–H 1.32-1.44 Å, Si–H
    1.40-1.50, bridging B–H–B up to 1.40, Ge–H and As–H about 1.5) and stays short of the next
    shell (geminal H on a C bonded to P or Si: 2.4 Å; Ru1···H1 of RU_HYDRIDE's Si1, 2.05 Å);
    C, N and O keep the 1.3 Å every H count was measured at, and a metal's hydride is no bond."""
    assert h_reach("P") > 1.44 and h_reach("Si") > 1.50 and h_reach("B") > 1.40
    assert h_reach("Ge") > 1.55 and h_reach("As") > 1.55
    assert max(h_reach(e) for e in ("B", "Si", "P", "S", "Ge", "As", "Se")) < 2.0
    assert h_reach("Si") < 2.05
    assert {h_reach(e) for e in ("C", "N", "O", "Ru", "Ir", "Fe", "W")} == {H_BOND_MAX}


def test_a_published_p_h_counts_for_its_p(tmp_path):
    """Cadmium hypophosphite's two P–H (1.30 and 1.38 Å, refined freely) were bonded to no atom
    (1.3 Å for all): the published model's P counted no H, so nothing judged it. Its P holds
    both now, in the comparison, the audit's published counts and the rules' truth alike."""
    from crystalx_core.audit import published_h_counts

    structure = _read(tmp_path, HYPOPHOSPHITE)
    p = _label(structure, "P")
    assert hydrogens_per_atom(structure)["P"] == 2
    assert {structure.sites[i].label for i in hydrogen_pivots(structure).values()} == {"P"}
    heavy = [k for k, s in enumerate(structure.sites) if not is_hydrogen(s.element)]
    assert dict(zip(heavy, published_h_counts(structure)))[p] == 2
    assert dict(zip(heavy, bonded_h_counts(structure, H_BOND_MAX)))[p] == 0  # the 1.3 Å convention


def test_the_audit_rides_a_published_p_h_where_it_was_refined(tmp_path):
    """The audit's "as published" model (riding.ride_existing_hydrogens) dropped both H, held
    by no atom; now they stay where they were refined, AFIX 0, held there by DFIX at their own
    distances: DFIX 0.84, a water's O–H, is what an H given without a riding model used to
    get."""
    from crystalx_core.riding import ride_existing_hydrogens

    structure = _read(tmp_path, HYPOPHOSPHITE)
    plan = ride_existing_hydrogens(structure)
    written = {s.label: s for s in plan.structure.sites if is_hydrogen(s.element)}
    assert set(written) == {"H1", "H2"}
    p = structure.cartesian(structure.sites[_label(structure, "P")].frac)
    for label, p_h in (("H1", 1.30), ("H2", 1.38)):
        given = structure.sites[_label(structure, label)]
        assert written[label].afix == 0 and written[label].u_iso == given.u_iso
        assert np.linalg.norm(structure.cartesian(written[label].frac) - p) == pytest.approx(
            p_h, abs=0.01
        )
    assert plan.restraints == ["DFIX 1.30 P H1", "DFIX 1.38 P H2"]
    assert "kept as the input refined them" in plan.notes[_label(structure, "P")]


def test_the_users_p_h_is_written_back_as_refined(tmp_path):
    """COD 4060308's P–H H0 was dropped without a word by `assign` (its P held no H within
    1.3 Å and the model gave it none): now it is written after its P as refined, AFIX 0, its
    own Uiso and label, with a note, and counts in the answer's H count."""
    (tmp_path / "w.cif").write_text(W_PHOSPHINE)
    assert main(["assign", str(tmp_path / "w.cif"), "--quiet", "--method", "baseline"]) == 0
    res = (tmp_path / "w_crystalx.res").read_text().splitlines()
    atoms = [line.split()[0] for line in res if line[:1].isalpha() and not line.startswith("AFIX")]
    assert atoms[atoms.index("P") + 1] == "H0"
    h0 = next(line.split() for line in res if line.startswith("H0 "))
    assert [float(v) for v in h0[2:5]] == pytest.approx([0.208, 0.382, 0.1354], abs=1e-5)
    assert float(h0[6]) == pytest.approx(0.025)  # its refined Uiso, not -1.2 riding on P
    before = res[res.index(next(line for line in res if line.startswith("H0 "))) - 2 :]
    assert not [line for line in before[:2] if line.startswith("AFIX") and line.split()[1] != "0"]
    answer = json.loads((tmp_path / "w_crystalx.json").read_text())
    p = next(a for a in answer["atoms"] if a["new_label"] == "P")
    assert (p["h_count"], p["hfix"]) == (1, 0) and "H0 kept as the input refined it" in p["note"]


def test_a_refined_job_keeps_the_users_p_h_free_and_bonded(tmp_path):
    """With reflections (computed from the published model, as tests/test_element_evidence
    simulates them), the P–H rides on nothing: it is refined from where the user had it, held
    at the user's P–H by DFIX, and stays on its P; the job's H total is the published one."""
    from crystalx_core.crystallography.convert import set_dispersion, to_xray_structure
    from crystalx_core.demo import simulate_reflections
    from crystalx_core.io.hkl import Reflections
    from crystalx_core.pipeline import assign_job

    truth = _read(tmp_path, W_PHOSPHINE)
    xs = to_xray_structure(truth)
    set_dispersion(xs, truth.wavelength)
    reflections = Reflections(*simulate_reflections(xs, 0.8, 5, 1e5), None, "simulated.hkl")
    result = assign_job(truth, reflections, method="baseline", hydrogens="rules")
    final = result.structure
    h0 = _label(final, "H0")
    assert final.sites[hydrogen_pivots(final)[h0]].label == "P"
    assert final.sites[h0].afix == 0 and result.hydrogens.restraints == ["DFIX 1.31 P H0"]
    assert sum(is_hydrogen(s.element) for s in final.sites) == 20  # C13H20NO5PSi2W
    assert result.final.r1 < 0.02


def test_an_atom_with_its_p_h_is_left_to_the_user_in_olex2(tmp_path):
    """The service leaves the atoms that carry H alone (no HFIX, a note): a P with its P–H
    is one of them now."""
    from crystalx_core.protocol import PROTOCOL
    from crystalx_core.service import reply_to

    structure = _read(tmp_path, W_PHOSPHINE)
    sites = [
        {
            "label": s.label,
            "element": s.element,
            "frac": list(s.frac),
            "occupancy": s.occupancy,
            "u_iso": s.u_iso,
            "part": s.part,
        }
        for s in structure.sites
        if not is_hydrogen(s.element) or s.label == "H0"
    ]
    snapshot = {
        "cell": list(structure.cell),
        "symops": structure.symops,
        "sfac": structure.sfac,
        "unit": structure.unit,
        "sites": sites,
    }
    line = json.dumps(
        {"protocol": PROTOCOL, "id": 1, "method": "assign", "params": {"structure": snapshot}}
    )
    reply, _ = reply_to(line.encode())
    p = next(s for s in reply["result"]["sites"] if s["label"] == "P")
    assert "already carries H" in p["note"]
    assert all("P" not in labels for _, labels in reply["result"]["hfix"])


def test_a_metal_hydride_is_the_metals_and_kept_without_a_map(tmp_path):
    """RU_HYDRIDE's H1, 1.53 Å from Ru1, is no riding H and no Si–H (2.05 Å from Si1): the
    comparison's counts (1.3 Å) give it to no atom, but it is the user's hydride, so a job
    without reflections keeps it where it was refined (issue 23: not ours to remove without
    evidence), says so, and the answer counts it for Ru1 (main dropped it with a note)."""
    structure = _read(tmp_path, RU_HYDRIDE, "ru.cif")
    counts = hydrogens_per_atom(structure)
    assert counts["Ru1"] == 0 and counts["Si1"] == 0
    assert main(["assign", str(tmp_path / "ru.cif"), "--quiet", "--method", "baseline"]) == 0
    answer = json.loads((tmp_path / "ru_crystalx.json").read_text())
    (ru,) = [a for a in answer["atoms"] if a["new_label"] == "Ru1"]
    assert ru["h_count"] == 1 and ru["note"].startswith(
        "the input's hydride kept: no difference map here to check it; H1 kept as"
    )
    assert not any(n.startswith("H1 of the input") for n in answer["notes"])
    res = (tmp_path / "ru_crystalx.res").read_text()
    assert "\nH1    2    0.701000    0.642200    0.283500" in res and "DFIX 1.53 Ru1 H1" in res


def test_the_training_labels_keep_their_own_reach():
    """The shipped hydrogen model learnt its labels with 1.3 Å for every atom; the labels keep
    that reach (benchmarks/h_reach_labels.py measures what h_reach would change), so the
    model's training set is built as before."""
    from crystalx_core.structure import Site, Structure
    from crystalx_core.training.atoms.dataset import h_counts
    from crystalx_core.training.atoms.samples import TRAINING_H_REACH

    assert TRAINING_H_REACH == 1.3
    cell = (10.0, 10.0, 10.0, 90.0, 90.0, 90.0)
    p_h = Structure(
        cell=cell,
        symops=["x,y,z"],
        sites=[
            Site(label="P1", element="P", frac=(0.5, 0.5, 0.5)),
            Site(label="H1", element="H", frac=(0.5, 0.5, 0.64)),  # P–H 1.40 Å
        ],
        sfac=["H", "P"],
        unit=[1.0, 1.0],
    )
    assert h_counts(p_h) == [0] and bonded_h_counts(p_h) == [1]


def test_the_audit_judges_a_published_p_h_as_the_job_keeps_it(tmp_path):
    """The audit counted COD 4060308's P–H for no atom; counting it, it must not then flag it
    against a model that never places H on P (the job keeps such H as refined): the P holds
    its published H in both columns and is not flagged."""
    from crystalx_core.audit import audit

    result = audit(_read(tmp_path, W_PHOSPHINE), method="baseline", hydrogens="rules")
    p = next(a for a in result.atoms if a.label == "P")
    assert (p.published_h, p.proposed_h) == (1, 1) and not p.hydrogen_flag


def test_a_p_h_under_the_users_own_afix_keeps_it(tmp_path):
    """The user's .res (the hypophosphite written by `assign`, its P–H then put under AFIX 3 by
    hand, as a user riding them without idealisation would) comes back with the same AFIX
    around the same H: the job keeps the user's code, it does not invent one."""
    (tmp_path / "hypo.cif").write_text(HYPOPHOSPHITE)
    assert main(["assign", str(tmp_path / "hypo.cif"), "--quiet", "--method", "baseline"]) == 0
    lines = (tmp_path / "hypo_crystalx.res").read_text().splitlines()
    own = []
    for line in lines:
        own += ["AFIX   3"] if line.startswith("H1 ") else []
        own.append(line)
        own += ["AFIX   0"] if line.startswith("H2 ") else []
    (tmp_path / "own.res").write_text("\n".join(own) + "\n")
    assert main(["assign", str(tmp_path / "own.res"), "--quiet", "--method", "baseline"]) == 0
    written = (tmp_path / "own_crystalx.res").read_text().splitlines()
    start = written.index("AFIX   3")
    assert [line.split()[0] for line in written[start : start + 4]] == ["AFIX", "H1", "H2", "AFIX"]
    assert written[start + 3].split() == ["AFIX", "0"] and written[start - 2].startswith("P ")


def _with(structure, **elements):
    """`structure` with the atoms named given other elements, as a job's assignment may."""
    return structure.with_sites(
        [replace(s, element=elements.get(s.label, s.element)) for s in structure.sites]
    )


def _heavy(structure):
    return structure.with_sites([s for s in structure.sites if not is_hydrogen(s.element)])


def test_a_halide_holds_no_h_and_its_neighbour_h_gets_a_note(tmp_path):
    """A halogen's covalent sum gave it a reach (Cl 1.59, Br 1.77, I 1.96 Å) while riding
    never keeps an H on a halide: an H 1.39 Å from an atom the job calls Cl was held, then
    dropped without a word. No halide holds an H beyond 1.3 Å (H–Cl 1.27): it is an H bonded
    to no atom, and says so."""
    from crystalx_core.riding import input_hydrogens_kept, unheld_input_hydrogens

    assert {h_reach(e) for e in ("F", "Cl", "Br", "I", "At")} == {H_BOND_MAX}
    given = _read(tmp_path, W_PHOSPHINE)
    model = _with(_heavy(given), P="Cl")
    assert not input_hydrogens_kept(model, given)
    assert [n for n in unheld_input_hydrogens(model, given) if n.startswith("H0 of the input")]


def test_an_h_on_top_of_its_atom_is_no_p_h(tmp_path):
    """An input H under 1.0 Å (geometry.OVERLAP) from a P is two places of one disordered atom,
    no P–H: the group is not kept as refined (the job's count decides)."""
    from crystalx_core.riding import input_hydrogens_kept

    given = _read(tmp_path, HYPOPHOSPHITE)
    p, h1 = _label(given, "P"), _label(given, "H1")
    pivot = given.cartesian(given.sites[p].frac)
    bond = given.cartesian(given.sites[h1].frac) - pivot
    assert input_hydrogens_kept(_heavy(given), given).keys() == {p}  # 1.30 Å: kept
    close = pivot + 0.9 * bond / np.linalg.norm(bond)
    moved = given.with_sites(
        [
            replace(s, frac=tuple(given.fractional(close))) if k == h1 else s
            for k, s in enumerate(given.sites)
        ]
    )
    assert not input_hydrogens_kept(_heavy(moved), moved)


def test_an_h_of_an_atom_the_job_gave_another_element(tmp_path):
    """Only the job's element was asked: a C–H of C6 under AFIX 13 stayed so on the job's Si6
    (a C–H on Si), an S–H under AFIX 147 on the job's P; now an H is kept as refined only where
    the input's atom had no HFIX geometry either, and the user's H the job does not write get a
    note naming them (they went without one)."""
    from crystalx_core.riding import (
        add_riding_hydrogens,
        input_groups,
        input_hydrogens_kept,
        unwritten_input_hydrogens,
    )

    given = _read(tmp_path, W_PHOSPHINE)
    on_c = given.with_sites([replace(s, afix=13) if s.label == "H6" else s for s in given.sites])
    model = _with(_heavy(on_c), C6="Si")
    groups = input_groups(model, on_c)
    kept = input_hydrogens_kept(model, on_c, groups)
    assert [model.sites[k].label for k in kept] == ["P"]
    notes = unwritten_input_hydrogens(add_riding_hydrogens(model, {}, kept=kept), model, groups)
    # (no count is asked here: every C's H go unwritten, each with its note)
    assert (
        "H6 of the input on C6 not written: the job gives Si no H (the input's C held it)" in notes
    )
    on_s = _with(given, P="S")
    assert not input_hydrogens_kept(_heavy(given), on_s)
    # the P–H of a P the job calls S (within S's 1.62 Å) is kept: no HFIX fits that S–H either
    model = _with(_heavy(given), P="S")
    assert [model.sites[k].label for k in input_hydrogens_kept(model, given)] == ["P"]


def test_a_bridging_b_h_is_kept_as_the_user_refined_it(tmp_path):
    """A bridging B–H–B H (1.31-1.38 Å) newly held by its B made a BH2 no HFIX fits, which the
    published model's riding restrained as a water (DFIX 0.84 B4 H4 B4 H45, DANG 1.36) and the
    job dropped (B gets no H from the model) without a note: where choose_hfix gives no code,
    the user's B–H are kept as refined, held at their own distances."""
    from crystalx_core.riding import input_hydrogens_kept, ride_existing_hydrogens

    cage = _read(tmp_path, B_CAGE)
    plan = ride_existing_hydrogens(cage)
    assert not [line for line in plan.restraints if line.startswith("DFIX 0.84")]
    assert "DFIX 1.31 B4 H45" in plan.restraints and "DFIX 1.38 B5 H56" in plan.restraints
    written = {s.label: s.afix for s in plan.structure.sites if is_hydrogen(s.element)}
    assert {"H45", "H56"} <= written.keys() and written["H45"] == written["H56"] == 0
    model = _heavy(cage)
    kept = input_hydrogens_kept(model, cage)
    labels = {model.sites[k].label: [h.label for h in group] for k, group in kept.items()}
    assert labels["B4"] == ["H4", "H45"] and labels["B5"] == ["H5", "H56"]
    assert "B7" not in labels  # a cage B–H under AFIX 153 is the job's


def test_a_kept_p_h_stays_a_p_h_at_low_resolution(tmp_path):
    """Refined freely at 1.5 Å data (simulated from the published hypophosphite, as
    tests/test_element_evidence does), H1 went to 0.82 Å from its P: a kept AFIX 0 H is now
    held at the input's P–H (DFIX, esd 0.02 Å), as SHELXL users restrain a free P–H."""
    from crystalx_core.crystallography.convert import set_dispersion, to_xray_structure
    from crystalx_core.demo import simulate_reflections
    from crystalx_core.io.hkl import Reflections
    from crystalx_core.pipeline import assign_job

    truth = _read(tmp_path, HYPOPHOSPHITE)
    xs = to_xray_structure(truth)
    set_dispersion(xs, truth.wavelength)
    reflections = Reflections(*simulate_reflections(xs, 1.5, 5, 1e3), None, "simulated.hkl")
    result = assign_job(truth, reflections, method="baseline", hydrogens="rules")
    final = result.structure
    p = final.cartesian(final.sites[_label(final, "P")].frac)
    for label, p_h in (("H1", 1.30), ("H2", 1.38)):
        h = final.sites[_label(final, label)]
        assert np.linalg.norm(final.cartesian(h.frac) - p) == pytest.approx(p_h, abs=0.05)


def test_a_users_own_restraint_on_a_kept_h_replaces_its_dfix(tmp_path):
    """The DFIX holding a kept P–H at its input distance gives way to the user's own restraint
    naming that H (SHELXL would apply both); the other kept H keeps its own."""
    from crystalx_core.pipeline import _instructions
    from crystalx_core.riding import ride_existing_hydrogens

    plan = ride_existing_hydrogens(_read(tmp_path, HYPOPHOSPHITE))
    assert "DFIX 1.30 P H1" in _instructions(plan)
    written = _instructions(plan, ["DFIX 1.35 P H1"])
    assert [line for line in written if line.startswith("DFIX")] == [
        "DFIX 1.38 P H2",
        "DFIX 1.35 P H1",
    ]


def test_the_summary_tells_kept_h_from_placed_ones(tmp_path, capsys):
    """The job's summary counted the user's kept P–H as riding H placed ('2 on 1 atoms' for
    the hypophosphite, where none was placed): it says which are which."""
    (tmp_path / "hypo.cif").write_text(HYPOPHOSPHITE)
    assert main(["assign", str(tmp_path / "hypo.cif"), "--method", "baseline"]) == 0
    out = capsys.readouterr().out
    assert "riding H placed: 0 on 0 atoms; the input's H kept as refined: 2 on 1 atoms" in out
