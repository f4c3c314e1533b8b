/**
 * The DERP map as control sends it (tailcfg.DERPMap, DERPRegion, DERPNode), JSON field names.
 * Types only: control/ fills it from MapResponses, derp/ dials its nodes, and neither imports
 * the other.
 * @module
 */

/** One DERP node (tailcfg.DERPNode), JSON field names. */
export interface DerpNode {
  Name: string;
  RegionID: number;
  HostName: string;
  CertName?: string;
  IPv4?: string;
  IPv6?: string;
  STUNPort?: number;
  STUNOnly?: boolean;
  DERPPort?: number;
  InsecureForTests?: boolean;
  STUNTestIP?: string;
  CanPort80?: boolean;
}

/** One DERP region (tailcfg.DERPRegion). */
export interface DerpRegion {
  RegionID: number;
  RegionCode: string;
  RegionName: string;
  Avoid?: boolean;
  NoMeasureNoHome?: boolean;
  Nodes: DerpNode[];
}

/** The DERP map (tailcfg.DERPMap). */
export interface DerpMap {
  /** Region ID (as a string key, as JSON has it) to region. */
  Regions: Record<string, DerpRegion>;
  OmitDefaultRegions?: boolean;
  HomeParams?: unknown;
}
